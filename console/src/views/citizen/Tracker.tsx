import { Button, Space, Spin, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type Me } from '../../api/client.ts';
import type { paths } from '../../api/schema.d.ts';
import { HubProblem } from './HubProblem.tsx';

type Answer = paths['/v1/me/tracker']['get']['responses'][200]['content']['application/json'];
type Row = Answer['entries'][number];

/**
 * Who read the citizen's data (the hub's tracker fan-out, through this node: GET /v1/me/tracker):
 * newest first across every node, each node's answer listed, those that did not answer as unavailable.
 */
export function Tracker(_props: { me: Me }) {
  const { t } = useTranslation();
  const [rows, setRows] = useState<Row[] | undefined>();
  const [sources, setSources] = useState<Answer['sources']>([]);
  const [next, setNext] = useState<string | null>(null);
  const [problem, setProblem] = useState<unknown>();
  const [loading, setLoading] = useState(false);

  const load = useCallback(async (cursor?: string) => {
    setLoading(true);
    const { data, error } = await api.GET('/v1/me/tracker', { params: { query: { limit: 50, ...(cursor ? { cursor } : {}) } } });
    setLoading(false);
    if (!data) {
      setProblem(error);
      setRows((r) => r ?? []);
      return;
    }
    setProblem(undefined);
    setRows((r) => (cursor ? [...(r ?? []), ...data.entries] : data.entries));
    setSources(data.sources);
    setNext(data.next);
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  // Nodes by name, as the hub's answer lists them.
  const names = new Map(sources.map((s) => [s.division, s.name]));
  const nodeName = (division: string | null) => (division ? `${names.get(division) ?? division} (${division})` : null);
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t('citizen.tracker.title')}
      </Typography.Title>
      <Typography.Paragraph style={{ margin: 0 }}>{t('citizen.tracker.intro')}</Typography.Paragraph>
      {problem !== undefined && <HubProblem error={problem} />}
      {sources.length > 0 && (
        <Space wrap aria-label={t('citizen.tracker.sources')} data-testid="tracker-sources">
          {sources.map((s) => (
            <Tag key={s.division} color={s.status === 'ok' ? 'green' : 'default'} data-source={s.status}>
              {s.status === 'ok' ? t('citizen.tracker.source.answered', { node: s.name, count: s.entries }) : t('citizen.tracker.source.unavailable', { node: s.name })}
            </Tag>
          ))}
        </Space>
      )}
      {!rows ? (
        <Spin aria-label={t('loading')} />
      ) : (
        <Table<Row>
          rowKey={(r) => `${r.node}-${r.seq}`}
          dataSource={rows}
          scroll={{ x: 'max-content' }}
          size="middle"
          pagination={false}
          loading={loading}
          locale={{ emptyText: t('citizen.tracker.none') }}
          columns={[
            { title: t('citizen.tracker.at'), key: 'at', render: (_, r) => new Date(r.at).toLocaleString() },
            { title: t('citizen.tracker.node'), key: 'node', render: (_, r) => nodeName(r.node) },
            { title: t('citizen.tracker.kind'), key: 'kind', render: (_, r) => <span data-kind={r.kind}>{t(`citizen.kind.${r.kind}`, { defaultValue: r.kind })}</span> },
            { title: t('citizen.tracker.who'), key: 'who', render: (_, r) => [nodeName(r.requester ?? r.actorNode), r.role ? t(`role.${r.role}`, { defaultValue: r.role }) : null].filter(Boolean).join(' · ') },
            { title: t('citizen.tracker.purpose'), key: 'purpose', render: (_, r) => [r.purpose, r.itemCode, r.service].filter(Boolean).join(' · ') },
            { title: t('citizen.tracker.outcome'), key: 'outcome', render: (_, r) => <Tag color={r.outcome === 'allowed' ? 'green' : 'red'}>{t(`citizen.tracker.outcome.${r.outcome}`, { defaultValue: r.outcome })}</Tag> },
          ]}
        />
      )}
      {next && (
        <Button onClick={() => void load(next)} loading={loading}>
          {t('citizen.tracker.more')}
        </Button>
      )}
    </Space>
  );
}
