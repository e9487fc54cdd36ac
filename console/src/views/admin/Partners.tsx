import { Card, Descriptions, Empty, Space, Spin, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, pageMeta } from '../../api/client.ts';
import { adminHref, Kid, Link, ProblemView, StateTag, useLoad } from './shared.tsx';

const self = pageMeta('tongban-division');

/** The other nodes of the directory this node relies on: their keys (thumbprints), services, and the agreements with each. */
export function Partners() {
  const { t } = useTranslation();
  const directory = useLoad(() => api.GET('/v1/operator/directory'), []);
  const agreements = useLoad(() => api.GET('/v1/operator/agreements', { params: { query: { limit: 200 } } }), []);
  if (directory.problem) return <ProblemView problem={directory.problem} onRetry={directory.reload} />;
  if (!directory.data) return <Spin aria-label={t('loading')} />;
  const others = directory.data.nodes.filter((n) => n.division !== self);
  // Parties of this node's agreements the directory no longer lists: suspended, revoked or removed by the hub's administrator.
  const listed = new Set(directory.data.nodes.map((n) => n.division));
  const gone = [...new Set((agreements.data?.agreements ?? []).flatMap((a) => a.terms.parties))].filter((d) => d !== self && !listed.has(d));
  if (others.length === 0 && gone.length === 0) return <Empty description={t('admin.partners.none')} />;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Paragraph style={{ margin: 0 }}>
        {t('admin.partners.intro', { version: directory.data.version ?? '—', expires: directory.data.expiresAt ? new Date(directory.data.expiresAt).toLocaleString() : '—' })}
      </Typography.Paragraph>
      {others.map((node) => {
        const withIt = (agreements.data?.agreements ?? []).filter((a) => a.terms.parties.includes(node.division) && a.terms.parties.includes(self));
        return (
          <Card
            key={node.division}
            size="small"
            data-testid={`partner-${node.division}`}
            title={
              <Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>
                {node.name} ({node.division})
              </Typography.Title>
            }
            extra={<Tag color="green">{node.role === 'hub' ? t('admin.partners.hub') : t('admin.partners.approved')}</Tag>}
          >
            <Descriptions size="small" column={1} bordered>
              <Descriptions.Item label={t('admin.partners.endpoint')}>
                <span style={{ wordBreak: 'break-all' }}>{node.endpoint}</span>
              </Descriptions.Item>
              <Descriptions.Item label={t('admin.partners.signingKey')}>
                <Kid kid={node.signingKid} />
              </Descriptions.Item>
              <Descriptions.Item label={t('admin.partners.encryptionKey')}>
                <Kid kid={node.encryptionKid} />
              </Descriptions.Item>
              {node.previousKids.length > 0 && (
                <Descriptions.Item label={t('admin.partners.previousKeys')}>
                  {node.previousKids.map((k) => (
                    <div key={k.kid}>
                      <Kid kid={k.kid} /> {t('admin.partners.validUntil', { at: new Date(k.validUntil).toLocaleString() })}
                    </div>
                  ))}
                </Descriptions.Item>
              )}
              <Descriptions.Item label={t('admin.partners.services')}>{node.services.length > 0 ? node.services.map((s) => <Tag key={s}>{s}</Tag>) : '—'}</Descriptions.Item>
              <Descriptions.Item label={t('admin.partners.agreements')}>
                {withIt.length === 0
                  ? t('admin.partners.noAgreements')
                  : withIt.map((a) => (
                      <div key={a.terms.id}>
                        <Link href={adminHref('agreements', a.terms.id)}>{a.terms.id}</Link> <StateTag state={a.state} />
                      </div>
                    ))}
              </Descriptions.Item>
            </Descriptions>
          </Card>
        );
      })}
      {gone.map((division) => (
        <Card key={division} size="small" data-testid={`partner-${division}`} title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{division}</Typography.Title>} extra={<Tag color="red">{t('admin.partners.notListed')}</Tag>}>
          {(agreements.data?.agreements ?? [])
            .filter((a) => a.terms.parties.includes(division))
            .map((a) => (
              <div key={a.terms.id}>
                <Link href={adminHref('agreements', a.terms.id)}>{a.terms.id}</Link> <StateTag state={a.state} />
              </div>
            ))}
        </Card>
      ))}
    </Space>
  );
}
