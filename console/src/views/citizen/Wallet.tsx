import { Space, Spin, Table, Tag, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type Me } from '../../api/client.ts';
import type { paths } from '../../api/schema.d.ts';
import { HubProblem } from './HubProblem.tsx';

type Entry = paths['/v1/me/wallet']['get']['responses'][200]['content']['application/json']['certificates'][number];
const STATUS_COLOURS = { valid: 'green', suspended: 'gold', revoked: 'red', unknown: 'default' } as const;

/** The citizen's certificates across the federation (the hub's wallet, through this node: GET /v1/me/wallet), with their status. */
export function Wallet(_props: { me: Me }) {
  const { t } = useTranslation();
  const [entries, setEntries] = useState<Entry[] | undefined>();
  const [problem, setProblem] = useState<unknown>();
  useEffect(() => {
    void api.GET('/v1/me/wallet', { params: { query: { limit: 200 } } }).then(({ data, error }) => {
      setEntries(data?.certificates ?? []);
      setProblem(data ? undefined : error);
    });
  }, []);
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t('citizen.wallet.title')}
      </Typography.Title>
      <Typography.Paragraph style={{ margin: 0 }}>{t('citizen.wallet.intro')}</Typography.Paragraph>
      {problem !== undefined && <HubProblem error={problem} />}
      {!entries ? (
        <Spin aria-label={t('loading')} />
      ) : (
        <Table<Entry>
          rowKey="certificateId"
          dataSource={entries}
          scroll={{ x: 'max-content' }}
          size="middle"
          pagination={false}
          locale={{ emptyText: t('citizen.wallet.none') }}
          columns={[
            { title: t('citizen.wallet.type'), key: 'type', dataIndex: 'typeName' },
            { title: t('citizen.wallet.status'), key: 'status', render: (_, e) => <Tag color={STATUS_COLOURS[e.status]} data-status={e.status}>{t(`citizen.wallet.status.${e.status}`)}</Tag> },
            { title: t('citizen.wallet.issuer'), key: 'issuer', render: (_, e) => `${e.issuerName} (${e.issuer})` },
            { title: t('citizen.wallet.issued'), key: 'issued', render: (_, e) => new Date(e.issuedAt).toLocaleDateString() },
            { title: t('citizen.wallet.expires'), key: 'expires', render: (_, e) => new Date(e.expiresAt).toLocaleDateString() },
            { title: t('citizen.wallet.id'), key: 'id', render: (_, e) => <Typography.Text code>{e.certificateId}</Typography.Text> },
          ]}
        />
      )}
    </Space>
  );
}
