import { Card, Empty, Space, Spin, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client.ts';
import { adminHref, Link, ProblemView, StateTag, useLoad, type Service } from './shared.tsx';

type Grant = Service['grants'][number];

/** The data services this node publishes, and to whom its agreements grant each (fields, purposes, consent). */
export function Services() {
  const { t } = useTranslation();
  const { data, problem, reload } = useLoad(() => api.GET('/v1/operator/services'), []);
  if (problem) return <ProblemView problem={problem} onRetry={reload} />;
  if (!data) return <Spin aria-label={t('loading')} />;
  if (data.length === 0) return <Empty description={t('admin.services.none')} />;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Paragraph style={{ margin: 0 }}>{t('admin.services.intro')}</Typography.Paragraph>
      {data.map((service) => (
        <Card
          key={service.id}
          size="small"
          title={
            <Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>
              {t(`admin.service.${service.id}`, { defaultValue: service.id })} <Typography.Text code>{service.id}</Typography.Text>
            </Typography.Title>
          }
        >
          <Typography.Paragraph>
            {t('admin.services.fields')}:{' '}
            {service.fields.map((f) => (
              <Tag key={f}>{f}</Tag>
            ))}
          </Typography.Paragraph>
          <Table<Grant>
            size="small"
            rowKey={(g) => `${g.agreementId}:${g.itemCode}`}
            dataSource={service.grants}
            pagination={false}
            scroll={{ x: 'max-content' }}
            locale={{ emptyText: t('admin.services.noGrants') }}
            columns={[
              { title: t('admin.agreement'), key: 'agreement', render: (_, g) => <Link href={adminHref('agreements', g.agreementId)}>{g.agreementId}</Link> },
              { title: t('admin.state'), key: 'state', render: (_, g) => <StateTag state={g.state} /> },
              { title: t('admin.item'), dataIndex: 'itemCode' },
              { title: t('admin.requesters'), key: 'to', render: (_, g) => g.requesters.join(', ') },
              { title: t('admin.fields'), key: 'fields', render: (_, g) => g.fields.join(', ') },
              { title: t('admin.purposes'), key: 'purposes', render: (_, g) => g.purposes.join('；') },
              { title: t('admin.consent'), key: 'consent', render: (_, g) => <Tag color={g.consentRequired ? 'blue' : 'default'}>{g.consentRequired ? t('admin.consentRequired') : t('admin.consentNotRequired')}</Tag> },
            ]}
          />
        </Card>
      ))}
    </Space>
  );
}
