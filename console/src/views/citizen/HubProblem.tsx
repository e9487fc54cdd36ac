import { Alert, Button } from 'antd';
import { useTranslation } from 'react-i18next';
import { problemParts, problemText } from '../../problem.ts';

/**
 * What a view relayed to the hub shows when the node could not relay: sign in again when the
 * session's hub sign-in has expired (HUB_SIGN_IN_NEEDED), or with the password when a consent needs
 * a recent one (RECENT_SIGN_IN_REQUIRED), else the refusal.
 */
export function HubProblem({ error }: { error: unknown }) {
  const { t } = useTranslation();
  const { code } = problemParts(error);
  if (code === 'HUB_SIGN_IN_NEEDED' || code === 'RECENT_SIGN_IN_REQUIRED')
    return (
      <Alert
        type="warning"
        showIcon
        title={t(code === 'HUB_SIGN_IN_NEEDED' ? 'citizen.signInAgain' : 'citizen.signInForConsent')}
        action={
          <Button type="primary" href={`/v1/auth/login?return=${encodeURIComponent(window.location.pathname)}${code === 'RECENT_SIGN_IN_REQUIRED' ? '&fresh=1' : ''}`}>
            {t('citizen.signInAgainButton')}
          </Button>
        }
      />
    );
  return <Alert type="error" showIcon title={t('citizen.hubFailed', { detail: problemText(error, code || t('loadFailed')) })} />;
}
