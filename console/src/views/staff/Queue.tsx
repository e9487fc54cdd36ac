import { Alert, Button, Descriptions, Empty, List, Result, Space, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, pageMeta, type CaseOut, type Me } from '../../api/client.ts';
import { useLiveRefresh } from '../../live.ts';
import { caseHref, navigate } from '../../router.ts';
import { TimeTag } from '../TimeTag.tsx';
import { problemDetail } from './common.ts';

const PAGE = 20;

/** The evidence fetched for a case, as the approver reviews it before deciding. */
function EvidenceOf({ view }: { view: CaseOut }) {
  const { t } = useTranslation();
  const evidence = view.case.evidence;
  if (evidence.length === 0) return <Empty description={t('noEvidence')} image={Empty.PRESENTED_IMAGE_SIMPLE} />;
  return (
    <List
      size="small"
      dataSource={evidence}
      renderItem={(e) => (
        <List.Item>
          <Descriptions size="small" column={{ xs: 1, sm: 1, md: 2 }} title={`${e.service} · ${e.provider}`}>
            <Descriptions.Item label={t('fetchedAt')}>{new Date(e.fetchedAt).toLocaleString()}</Descriptions.Item>
            {e.purpose && <Descriptions.Item label={t('purpose')}>{e.purpose}</Descriptions.Item>}
            {e.data
              ? Object.entries(e.data).map(([field, value]) => (
                  <Descriptions.Item key={field} label={field}>
                    {typeof value === 'string' ? value : JSON.stringify(value)}
                  </Descriptions.Item>
                ))
              : <Descriptions.Item label={t('staff.data')}>{t('staff.referenceOnly')}</Descriptions.Item>}
          </Descriptions>
        </List.Item>
      )}
    />
  );
}

/**
 * An approver's queue (GET /v1/cases?queue=decision): the cases this node decides that wait on it,
 * from hand-over to conclusion, with the time left and the evidence fetched for each (expand a
 * row), and a link to decide. Live: a case handed over or moved elsewhere refreshes the page.
 */
export function Queue({ me }: { me: Me }) {
  const { t } = useTranslation();
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
          {
            title: t('caseId'),
            key: 'id',
            render: (_, row) => (
              <a href={caseHref(row.case.id)} onClick={(e) => navigate(e, caseHref(row.case.id))}>
                {row.case.id}
              </a>
            ),
          },
          { title: t('item'), key: 'item', render: (_, row) => row.case.itemName },
          { title: t('applicant'), key: 'applicant', render: (_, row) => row.case.applicant.name },
          { title: t('acceptingNode'), key: 'from', render: (_, row) => row.case.acceptingNode },
          { title: t('mode'), key: 'mode', render: (_, row) => t(`mode.${row.case.mode}`) },
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
          { title: t('timeLeft'), key: 'time', render: (_, row) => <TimeTag time={row.time} /> },
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
