import { Alert, Button, Empty, Result, Space, Table, Tag, Typography } from 'antd';
import { Fragment, useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, pageMeta, type CaseOut, type Me } from '../../api/client.ts';
import { useLiveRefresh } from '../../live.ts';
import { caseHref, navigate } from '../../router.ts';
import { caseColumns } from '../CaseList.tsx';
import { problemDetail } from './common.ts';
import './staff.css';

const PAGE = 20;

/** The evidence fetched for a case, as the approver reviews it before deciding (wrapping: the table scrolls sideways, not this). */
function EvidenceOf({ view }: { view: CaseOut }) {
  const { t } = useTranslation();
  const evidence = view.case.evidence;
  if (evidence.length === 0) return <Empty description={t('noEvidence')} image={Empty.PRESENTED_IMAGE_SIMPLE} />;
  return (
    <Space orientation="vertical" size="middle" className="staff-evidence">
      {evidence.map((e) => (
        <div key={e.requestId}>
          <Typography.Text strong>
            {e.service} · {e.provider}
          </Typography.Text>
          <dl className="staff-fields">
            <dt>{t('fetchedAt')}</dt>
            <dd>{new Date(e.fetchedAt).toLocaleString()}</dd>
            {e.purpose && (
              <>
                <dt>{t('purpose')}</dt>
                <dd>{e.purpose}</dd>
              </>
            )}
            {e.data ? (
              Object.entries(e.data).map(([field, value]) => (
                <Fragment key={field}>
                  <dt>{field}</dt>
                  <dd>{typeof value === 'string' ? value : JSON.stringify(value)}</dd>
                </Fragment>
              ))
            ) : (
              <>
                <dt>{t('staff.data')}</dt>
                <dd>{t('staff.referenceOnly')}</dd>
              </>
            )}
          </dl>
        </div>
      ))}
    </Space>
  );
}

/**
 * An approver's queue (GET /v1/cases?queue=decision): the cases this node decides that wait on it,
 * from hand-over to conclusion, with the time left and the evidence fetched for each (expand a
 * row), and a link to decide. Live: a case handed over or moved elsewhere refreshes the page.
 */
export function Queue({ me }: { me: Me }) {
  const { t } = useTranslation();
  const column = caseColumns(t);
  const [page, setPage] = useState(1);
  const [rows, setRows] = useState<CaseOut[]>([]);
  const [total, setTotal] = useState(0);
  const [loading, setLoading] = useState(true);
  const [failed, setFailed] = useState<string | undefined>();
  const staff = me.kind !== 'citizen' && me.roles.some((r) => r === 'approver' || r === 'supervisor');
  const self = pageMeta('tongban-division');

  const load = useCallback(async () => {
    setFailed(undefined);
    const { data, error } = await api.GET('/v1/cases', { params: { query: { queue: 'decision', limit: PAGE, offset: (page - 1) * PAGE } } });
    setLoading(false);
    if (data) {
      setRows(data.cases);
      setTotal(data.total);
    } else setFailed(problemDetail(error, t('loadFailed')));
  }, [page, t]);
  useEffect(() => {
    if (staff) void load();
  }, [load, staff]);
  useLiveRefresh(() => void load(), (event) => event.kind === 'case', staff);

  if (!staff) return <Result status="403" title={t('staff.approversOnly')} />;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t('staff.queue')}
      </Typography.Title>
      <Typography.Paragraph style={{ margin: 0 }}>{t('staff.queueIntro')}</Typography.Paragraph>
      {failed && <Alert type="error" showIcon title={failed} action={<Button onClick={() => void load()}>{t('retry')}</Button>} />}
      <Table<CaseOut>
        rowKey={(row) => row.case.id}
        dataSource={rows}
        loading={loading}
        scroll={{ x: 'max-content' }}
        size="middle"
        expandable={{ expandedRowRender: (row) => <EvidenceOf view={row} />, expandRowByClick: false }}
        pagination={{ current: page, pageSize: PAGE, total, showSizeChanger: false, onChange: setPage, showTotal: (n) => t('total', { total: n }) }}
        columns={[
          column.id,
          column.item,
          column.applicant,
          { title: t('acceptingNode'), key: 'from', render: (_, row) => row.case.acceptingNode },
          column.mode,
          {
            title: t('state'),
            key: 'state',
            render: (_, row) => {
              const part = row.case.parts.find((p) => p.node === self);
              return (
                <Space size={4} wrap>
                  <Tag>{t(`state.${row.case.state}`)}</Tag>
                  {part && part.status !== 'pending' && row.case.state === 'in_review' && <Tag color="blue">{t('staff.partDecided')}</Tag>}
                </Space>
              );
            },
          },
          column.time,
          { title: t('evidence'), key: 'evidence', render: (_, row) => t('staff.evidenceCount', { count: row.case.evidence.length }) },
          {
            title: t('staff.next'),
            key: 'decide',
            render: (_, row) => (
              <a href={caseHref(row.case.id)} onClick={(e) => navigate(e, caseHref(row.case.id))} aria-label={t('staff.decideCase', { id: row.case.id })}>
                {row.case.state === 'decided' ? t('staff.action.conclude') : row.case.state === 'accepted' ? t('staff.action.start-review') : t('staff.action.decide')}
              </a>
            ),
          },
        ]}
      />
    </Space>
  );
}
