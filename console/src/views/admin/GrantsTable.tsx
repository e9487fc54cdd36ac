import { Table, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Terms } from './shared.tsx';

/** The grants of a version of the terms, one row per item and grant: who gives what to whom, which fields, for what, with or without consent. */
export function GrantsTable({ terms }: { terms: Terms }) {
  const { t } = useTranslation();
  const rows = terms.items.flatMap((item) => item.grants.map((g) => ({ ...g, itemCode: item.itemCode, timeLimitDays: item.timeLimitDays, key: `${item.itemCode}:${g.provider}:${g.service}` })));
  return (
    <Table
      size="small"
      rowKey="key"
      dataSource={rows}
      pagination={false}
      scroll={{ x: 'max-content' }}
      columns={[
        { title: t('admin.item'), dataIndex: 'itemCode' },
        { title: t('admin.timeLimit'), key: 'limit', render: (_, g) => (g.timeLimitDays === undefined ? '—' : t('admin.workingDays', { count: g.timeLimitDays })) },
        { title: t('admin.provider'), dataIndex: 'provider' },
        { title: t('admin.service'), dataIndex: 'service' },
        { title: t('admin.requesters'), key: 'to', render: (_, g) => g.requesters.join(', ') },
        { title: t('admin.fields'), key: 'fields', render: (_, g) => <div style={{ maxWidth: 360, whiteSpace: 'normal' }}>{g.fields.join(', ')}</div> },
        { title: t('admin.purposes'), key: 'purposes', render: (_, g) => g.purposes.join('；') },
        { title: t('admin.consent'), key: 'consent', render: (_, g) => <Tag color={g.consentRequired ? 'blue' : 'default'}>{g.consentRequired ? t('admin.consentRequired') : t('admin.consentNotRequired')}</Tag> },
      ]}
    />
  );
}
