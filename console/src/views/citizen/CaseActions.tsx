import { Alert, Button, Card, Descriptions, Form, Input, Space, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type CaseOut, type CaseState } from '../../api/client.ts';
import { problemText } from '../../problem.ts';

/** States in which the applicant may withdraw (the state machine's `withdraw`: open cases). */
const WITHDRAWABLE: ReadonlySet<CaseState> = new Set(['applied', 'pending_materials', 'accepted', 'in_review', 'returned', 'suspended', 'special_procedure']);

/**
 * What the applicant can do on their own case: release or refuse each piece of evidence held for
 * their preview (its data shown as fetched), and withdraw while the case is open.
 */
export function CitizenCaseActions({ view, reload }: { view: CaseOut; reload: () => void }) {
  const { t } = useTranslation();
  const c = view.case;
  const [busy, setBusy] = useState<string | undefined>();
  const [failed, setFailed] = useState<string | undefined>();
  const [reason, setReason] = useState('');
  const held = c.evidence.filter((e) => e.preview === 'pending');
  const canWithdraw = WITHDRAWABLE.has(c.state);
  if (held.length === 0 && !canWithdraw) return null;

  const act = async (action: 'release-evidence' | 'refuse-evidence' | 'withdraw', body: { requestId?: string; reason?: string }, key: string) => {
    setBusy(key);
    setFailed(undefined);
    const { data, error } = await api.POST('/v1/cases/{id}/actions/{action}', { params: { path: { id: c.id, action } }, body });
    setBusy(undefined);
    if (data) reload();
    else setFailed(problemText(error, t('loadFailed')));
  };

  return (
    <Card title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('citizen.actions.title')}</Typography.Title>} size="small" data-testid="citizen-actions">
      <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
        {held.map((e) => (
          <Card key={e.requestId} size="small" type="inner" data-testid="held-evidence" title={`${e.service}`}>
            <Typography.Paragraph>{t('citizen.actions.held', { provider: e.provider })}</Typography.Paragraph>
            <Descriptions bordered size="small" column={1}>
              {e.purpose && <Descriptions.Item label={t('purpose')}>{e.purpose}</Descriptions.Item>}
              {Object.entries(e.data ?? {}).map(([field, value]) => (
                <Descriptions.Item key={field} label={field}>
                  {typeof value === 'string' ? value : JSON.stringify(value)}
                </Descriptions.Item>
              ))}
            </Descriptions>
            <Space wrap style={{ marginTop: 12 }}>
              <Button type="primary" loading={busy === `r${e.requestId}`} onClick={() => void act('release-evidence', { requestId: e.requestId }, `r${e.requestId}`)}>
                {t('citizen.actions.release')}
              </Button>
              <Button danger loading={busy === `x${e.requestId}`} onClick={() => void act('refuse-evidence', { requestId: e.requestId }, `x${e.requestId}`)}>
                {t('citizen.actions.refuse')}
              </Button>
            </Space>
          </Card>
        ))}
        {c.evidence
          .filter((e) => e.preview === 'released' || e.preview === 'refused')
          .map((e) => (
            <Space key={e.requestId} wrap>
              <span>{e.service}</span>
              <Tag color={e.preview === 'released' ? 'green' : 'red'}>{t(e.preview === 'released' ? 'citizen.actions.released' : 'citizen.actions.refused')}</Tag>
            </Space>
          ))}
        {canWithdraw && (
          <Form layout="vertical" onFinish={() => void act('withdraw', { reason }, 'withdraw')}>
            <Form.Item label={t('citizen.actions.withdrawReason')} htmlFor="withdraw-reason">
              <Input id="withdraw-reason" maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
            </Form.Item>
            <Button danger htmlType="submit" disabled={reason.trim() === ''} loading={busy === 'withdraw'}>
              {t('citizen.actions.withdraw')}
            </Button>
          </Form>
        )}
        {failed && <Alert type="error" showIcon title={t('citizen.actions.failed', { detail: failed })} />}
      </Space>
    </Card>
  );
}
