import { Result } from 'antd';
import { useTranslation } from 'react-i18next';

/** A console path that names no view (or none for this person). */
export function NotFound() {
  const { t } = useTranslation();
  return <Result status="404" title={t('pageNotFound')} />;
}
