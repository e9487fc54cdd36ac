import { Alert, Button, Form, Select, Space, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import type { ColumnType } from 'antd/es/table';
import { api, CASE_STATES, type CaseOut, type CaseState } from '../api/client.ts';
import { useLiveRefresh } from '../live.ts';
import { caseHref, navigate } from '../router.ts';
import { TimeTag } from './TimeTag.tsx';

const PAGE = 20;

/** The columns every table of cases shows the same way (the list, the approver's queue). */
export function caseColumns(t: TFunction) {
  const column = (c: ColumnType<CaseOut>) => c;
  return {
    id: column({
      title: t('caseId'),
      key: 'id',
      render: (_, row) => (
        <a href={caseHref(row.case.id)} onClick={(e) => navigate(e, caseHref(row.case.id))}>
          {row.case.id}
        </a>
      ),
    }),
    item: column({ title: t('item'), key: 'item', render: (_, row) => row.case.itemName }),
    applicant: column({ title: t('applicant'), key: 'applicant', render: (_, row) => row.case.applicant.name }),
    mode: column({ title: t('mode'), key: 'mode', render: (_, row) => t(`mode.${row.case.mode}`) }),
    time: column({ title: t('timeLeft'), key: 'time', render: (_, row) => <TimeTag time={row.time} /> }),
  };
}

/**
 * The cases the caller may see (GET /v1/cases): for staff, those their node takes part in; for a
 * citizen, their own (the node decides, the console only shows). A state filter and pages.
 */
export function CaseList({ citizen }: { citizen: boolean }) {
  const { t } = useTranslation();
  const column = caseColumns(t);
  const [state, setState] = useState<CaseState | undefined>();
  const [page, setPage] = useState(1);
  const [rows, setRows] = useState<CaseOut[]>([]);
  const [total, setTotal] = useState(0);
  const [loading, setLoading] = useState(true);
  const [failed, setFailed] = useState<string | undefined>();

  const load = useCallback(async () => {
    setLoading(true);
    setFailed(undefined);
    const { data, error } = await api.GET('/v1/cases', { params: { query: { limit: PAGE, offset: (page - 1) * PAGE, ...(state ? { state } : {}) } } });
    setLoading(false);
    if (data) {
      setRows(data.cases);
      setTotal(data.total);
    } else setFailed(typeof error === 'object' && error && 'detail' in error ? String(error.detail) : t('loadFailed'));
  }, [page, state, t]);
  useEffect(() => {
    void load();
  }, [load]);
  // Live: a case this person may see changed (the node sends only those); reload the page shown.
  useLiveRefresh(() => void load(), (event) => event.kind === 'case');

  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {citizen ? t('myCases') : t('cases')}
      </Typography.Title>
      {citizen && <Typography.Paragraph style={{ margin: 0 }}>{t('myCasesIntro')}</Typography.Paragraph>}
      <Form layout="inline" onSubmitCapture={(e) => e.preventDefault()}>
        <Form.Item label={t('stateFilter')} htmlFor="case-state-filter">
          <Select<CaseState | ''>
            id="case-state-filter"
            style={{ minWidth: 180 }}
            virtual={false}
            value={state ?? ''}
            onChange={(value) => {
              setState(value === '' ? undefined : value);
              setPage(1);
            }}
            options={[{ value: '', label: t('allStates') }, ...CASE_STATES.map((s) => ({ value: s, label: t(`state.${s}`) }))]}
          />
        </Form.Item>
      </Form>
      {failed && <Alert type="error" showIcon title={failed} action={<Button onClick={() => void load()}>{t('retry')}</Button>} />}
      {/* On a phone the table keeps its columns and scrolls sideways inside itself. */}
      <Table<CaseOut>
        rowKey={(row) => row.case.id}
        dataSource={rows}
        loading={loading}
        scroll={{ x: 'max-content' }}
        size="middle"
        pagination={{ current: page, pageSize: PAGE, total, showSizeChanger: false, onChange: setPage, showTotal: (n) => t('total', { total: n }) }}
        columns={[
          column.id,
          column.item,
          ...(citizen ? [] : [column.applicant]),
          column.mode,
          { title: t('state'), key: 'state', render: (_, row) => <Tag>{t(`state.${row.case.state}`)}</Tag> },
          column.time,
          { title: t('updated'), key: 'updated', render: (_, row) => new Date(row.case.updatedAt).toLocaleString() },
        ]}
      />
    </Space>
  );
}
