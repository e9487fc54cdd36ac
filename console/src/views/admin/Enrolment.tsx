import { Alert, Button, Card, Descriptions, Space, Spin, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, pageMeta } from '../../api/client.ts';
import { Kid, ProblemAlert, ProblemView, problemOf, useLoad, type Problem } from './shared.tsx';

const self = pageMeta('tongban-division');
const ROTATION_COLOURS: Record<string, string> = { unsent: 'orange', pending: 'blue', approved: 'green', rejected: 'red' };

/** This node as the hub's directory lists it, the directory it relies on, and where its signing key's rotation stands. */
export function Enrolment() {
  const { t } = useTranslation();
  const directory = useLoad(() => api.GET('/v1/operator/directory'), []);
  const keys = useLoad(() => api.GET('/v1/operator/keys'), []);
  const [refreshing, setRefreshing] = useState(false);
  const [problem, setProblem] = useState<Problem | undefined>();
  if (directory.problem) return <ProblemView problem={directory.problem} onRetry={directory.reload} />;
  if (!directory.data) return <Spin aria-label={t('loading')} />;
  const d = directory.data;
  const entry = d.nodes.find((n) => n.division === self);
  const k = keys.data;
  const refresh = async () => {
    setRefreshing(true);
    setProblem(undefined);
    const { data, error, response } = await api.POST('/v1/operator/directory/refresh');
    setRefreshing(false);
    if (data) directory.reload();
    else setProblem(problemOf(error, response));
  };
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Card size="small" title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('admin.enrolment.entry')}</Typography.Title>}>
        {entry ? (
          <Descriptions size="small" column={1} bordered>
            <Descriptions.Item label={t('admin.enrolment.status')}>
              <Tag color="green" data-testid="enrolment-status">
                {t('admin.partners.approved')}
              </Tag>
            </Descriptions.Item>
            <Descriptions.Item label={t('admin.enrolment.name')}>
              {entry.name} ({entry.division})
            </Descriptions.Item>
            <Descriptions.Item label={t('admin.partners.endpoint')}>
              <span style={{ wordBreak: 'break-all' }}>{entry.endpoint}</span>
            </Descriptions.Item>
            <Descriptions.Item label={t('admin.partners.signingKey')}>
              <Kid kid={entry.signingKid} />
              {k && (k.current.kid === entry.signingKid ? <Tag color="green">{t('admin.enrolment.keyMatches')}</Tag> : <Tag color="orange">{t('admin.enrolment.keyDiffers')}</Tag>)}
            </Descriptions.Item>
            <Descriptions.Item label={t('admin.partners.encryptionKey')}>
              <Kid kid={entry.encryptionKid} />
            </Descriptions.Item>
            <Descriptions.Item label={t('admin.partners.services')}>{entry.services.map((s) => <Tag key={s}>{s}</Tag>)}</Descriptions.Item>
          </Descriptions>
        ) : (
          <Alert type="warning" showIcon title={t('admin.enrolment.notListed')} />
        )}
      </Card>
      <Card size="small" title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('admin.enrolment.directory')}</Typography.Title>}>
        <Descriptions size="small" column={1} bordered>
          <Descriptions.Item label={t('admin.enrolment.version')}>{d.version ?? '—'}</Descriptions.Item>
          <Descriptions.Item label={t('admin.enrolment.issuedAt')}>{d.issuedAt ? new Date(d.issuedAt).toLocaleString() : '—'}</Descriptions.Item>
          <Descriptions.Item label={t('admin.enrolment.expiresAt')}>{d.expiresAt ? new Date(d.expiresAt).toLocaleString() : '—'}</Descriptions.Item>
          {d.lastError && <Descriptions.Item label={t('admin.enrolment.lastError')}>{d.lastError}</Descriptions.Item>}
        </Descriptions>
        <Button style={{ marginTop: 8 }} loading={refreshing} onClick={() => void refresh()}>
          {t('admin.enrolment.refresh')}
        </Button>
        {problem && <ProblemAlert problem={problem} />}
      </Card>
      <Card size="small" title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('admin.enrolment.keys')}</Typography.Title>}>
        {keys.problem ? (
          <ProblemAlert problem={keys.problem} />
        ) : !k ? (
          <Spin aria-label={t('loading')} />
        ) : (
          <Descriptions size="small" column={1} bordered>
            <Descriptions.Item label={t('admin.enrolment.algorithm')}>{k.algorithm}</Descriptions.Item>
            <Descriptions.Item label={t('admin.enrolment.currentKey')}>
              <Kid kid={k.current.kid} />
            </Descriptions.Item>
            <Descriptions.Item label={t('admin.enrolment.pendingKey')}>{k.pending ? <Kid kid={k.pending.kid} /> : t('admin.enrolment.noPending')}</Descriptions.Item>
            <Descriptions.Item label={t('admin.enrolment.rotation')}>
              {k.rotation ? (
                <span data-testid="rotation">
                  <Tag color={ROTATION_COLOURS[k.rotation.status]}>{t(`admin.rotation.${k.rotation.status}`)}</Tag>
                  {t('admin.enrolment.requestedAt', { at: new Date(k.rotation.requestedAt).toLocaleString() })}
                  {k.rotation.decidedAt && ` · ${t('admin.enrolment.decidedAt', { at: new Date(k.rotation.decidedAt).toLocaleString() })}`}
                  {k.rotation.detail && <div>{k.rotation.detail}</div>}
                </span>
              ) : (
                <span data-testid="rotation">{t('admin.enrolment.neverRotated')}</span>
              )}
            </Descriptions.Item>
          </Descriptions>
        )}
      </Card>
    </Space>
  );
}
