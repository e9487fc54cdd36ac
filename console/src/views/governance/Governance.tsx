import { Alert, Button, Descriptions, Empty, Space, Spin, Table, Tag, Typography } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import { useCallback, useEffect, useState, type MouseEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type FederationReport, type Me, type NodeReport } from '../../api/client.ts';
import { navigate } from '../../router.ts';
import { Bars } from './Chart.tsx';

export const GOVERNANCE_SECTIONS = ['progress', 'trust', 'balance', 'learning', 'audit'] as const;
type Section = (typeof GOVERNANCE_SECTIONS)[number];
const sectionHref = (s: Section) => `/console/governance/${s}`;

type Loaded = { state: 'loading' } | { state: 'ready'; federation: FederationReport | undefined; federationError: string | undefined; own: NodeReport | undefined };

const percent = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 10);
const problemOf = (error: unknown) => (typeof error === 'object' && error && 'detail' in error ? String((error as { detail: unknown }).detail) : undefined);

/**
 * The governance dashboards (激励约束, 信任, 双赢, 组织学习, 审计). At a node (its supervisors and data
 * administrators): the hub's published figures as the node relays them, checked, next to the
 * node's own; at the hub: the published figures, to anyone. Each chart has its table.
 */
export function Governance({ me, section, hub = false }: { me?: Me; section: string; hub?: boolean }) {
  const { t, i18n } = useTranslation();
  const current: Section | undefined = (GOVERNANCE_SECTIONS as readonly string[]).includes(section) ? (section as Section) : undefined;
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });
  const [loads, setLoads] = useState(0);
  const reload = useCallback(() => setLoads((n) => n + 1), []);

  useEffect(() => {
    let live = true;
    setLoaded({ state: 'loading' });
    void (async () => {
      const [federation, own] = await Promise.all([api.GET('/v1/governance/federation'), hub ? undefined : api.GET('/v1/governance/node')]);
      if (!live) return;
      setLoaded({ state: 'ready', federation: federation.data, federationError: federation.data ? undefined : (problemOf(federation.error) ?? t('governance.hubFailed')), own: own?.data });
    })();
    return () => {
      live = false;
    };
  }, [hub, loads, t]);

  if (!current) return <Empty description={t('pageNotFound')} />;
  // Links that wrap on a narrow screen (a horizontal menu would fold sections away behind "…").
  const menu = (
    <nav aria-label={t('governance.sections')} data-testid="governance-sections">
      <Space wrap size="small">
        {GOVERNANCE_SECTIONS.map((s) => (
          <Button key={s} type={s === current ? 'primary' : 'default'} href={sectionHref(s)} onClick={(e) => navigate(e as MouseEvent<HTMLAnchorElement>, sectionHref(s))} aria-current={s === current ? 'page' : undefined}>
            {t(`governance.section.${s}`)}
          </Button>
        ))}
      </Space>
    </nav>
  );

  let body: ReactNode;
  if (loaded.state === 'loading') body = <Spin aria-label={t('loading')} />;
  else {
    const { federation, own } = loaded;
    const unavailable = federation?.sources.filter((s) => s.status !== 'ok') ?? [];
    body = (
      <Space orientation="vertical" size="large" style={{ width: '100%' }}>
        {loaded.federationError && <Alert type="warning" showIcon title={loaded.federationError} action={<Button onClick={reload}>{t('retry')}</Button>} />}
        {federation && (
          <Typography.Text type="secondary" data-testid="governance-as-of">
            {t('governance.asOf', { at: new Date(federation.at).toLocaleString(i18n.language === 'en' ? 'en-GB' : 'zh-CN') })}
          </Typography.Text>
        )}
        {unavailable.length > 0 && (
          <Alert type="info" showIcon title={t('governance.unavailableNodes', { nodes: unavailable.map((s) => `${s.name} (${s.division}): ${t(`governance.sourceStatus.${s.status}`)}`).join(', ') })} />
        )}
        {current === 'progress' && federation && <Progress report={federation} />}
        {current === 'trust' && <Trust report={federation} own={own} />}
        {current === 'balance' && <Balance report={federation} own={own} />}
        {current === 'learning' && <Learning report={federation} own={own} />}
        {current === 'audit' && <Audit report={federation} own={own} />}
      </Space>
    );
  }

  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t('governance.title')}
      </Typography.Title>
      <Typography.Paragraph style={{ margin: 0 }}>{hub ? t('governance.hubIntro') : t('governance.intro')}</Typography.Paragraph>
      {me && !hub && <Typography.Text type="secondary">{t('governance.own.heading', { node: me.node ?? '' })}</Typography.Text>}
      {menu}
      {body}
    </Space>
  );
}

/** A heading, a chart and the table of the same numbers. */
function Panel({ heading, intro, children }: { heading: string; intro?: string; children: ReactNode }) {
  return (
    <section aria-label={heading}>
      <Typography.Title level={3}>{heading}</Typography.Title>
      {intro && <Typography.Paragraph>{intro}</Typography.Paragraph>}
      <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
        {children}
      </Space>
    </section>
  );
}

function DataTable<T extends object>({ caption, rows, columns, rowKey, testId }: { caption: string; rows: readonly T[]; columns: ColumnsType<T>; rowKey: (row: T) => string; testId: string }) {
  return (
    <div data-testid={testId}>
      <Typography.Title level={4}>{caption}</Typography.Title>
      <Table<T> rowKey={rowKey} dataSource={[...rows]} columns={columns} pagination={false} size="small" scroll={{ x: 'max-content' }} />
    </div>
  );
}

const nodeLabel = (row: { name: string; division: string }) => `${row.name} (${row.division})`;

function SourceTag({ status }: { status: string }) {
  const { t } = useTranslation();
  return <Tag color={status === 'ok' ? 'green' : status === 'unavailable' ? 'default' : 'red'}>{t(`governance.sourceStatus.${status}`)}</Tag>;
}

function Progress({ report }: { report: FederationReport }) {
  const { t } = useTranslation();
  const rows = report.progress.nodes;
  return (
    <Panel heading={t('governance.progress.heading')} intro={t('governance.progress.intro', { items: report.progress.nationalItems, due: report.progress.dueItems })}>
      <Bars
        testId="chart-progress"
        title={t('governance.progress.chart')}
        categories={rows.map((r) => r.name)}
        series={[
          { name: t('governance.enabled'), data: rows.map((r) => r.enabled) },
          { name: t('governance.dueEnabled'), data: rows.map((r) => r.dueEnabled) },
        ]}
      />
      <DataTable
        testId="table-progress"
        caption={t('governance.chartTable')}
        rows={rows}
        rowKey={(r) => r.division}
        columns={[
          { title: t('governance.rank'), dataIndex: 'rank' },
          { title: t('governance.node'), key: 'node', render: (_, r) => nodeLabel(r) },
          { title: t('governance.enabled'), dataIndex: 'enabled' },
          { title: t('governance.dueEnabled'), key: 'due', render: (_, r) => `${r.dueEnabled} / ${r.due}` },
          { title: t('governance.score'), key: 'score', render: (_, r) => `${percent(r.score)}%` },
          {
            title: t('governance.overdue'),
            key: 'overdue',
            // The count, then the codes wrapped in a bounded column (a long list must not widen the table).
            render: (_, r) =>
              r.overdue.length === 0 ? (
                t('governance.none')
              ) : (
                <Typography.Text style={{ display: 'inline-block', maxWidth: 320, whiteSpace: 'normal' }}>
                  <strong>{r.overdue.length}</strong> {r.overdue.join(' ')}
                </Typography.Text>
              ),
          },
          { title: t('governance.partners'), key: 'partners', render: (_, r) => r.partners.map((p) => `${p.partner}: ${p.items}`).join(', ') || t('governance.none') },
        ]}
      />
    </Panel>
  );
}

function Trust({ report, own }: { report: FederationReport | undefined; own: NodeReport | undefined }) {
  const { t } = useTranslation();
  const rows = report?.trust.nodes ?? [];
  const refused = (r: (typeof rows)[number]) => r.refusals.reduce((s, x) => s + x.count, 0);
  return (
    <Panel heading={t('governance.trust.heading')} intro={t('governance.trust.intro', { hours: report?.trust.windowHours ?? 24 })}>
      {report && (
        <>
          <Bars testId="chart-trust" title={t('governance.trust.chart')} categories={rows.map((r) => r.name)} max={100} series={[{ name: t('governance.availability'), data: rows.map((r) => percent(r.availability)) }]} />
          <Bars
            testId="chart-trust-problems"
            title={t('governance.trust.problemsChart')}
            categories={rows.map((r) => r.name)}
            series={[
              { name: t('governance.signatureFailures'), data: rows.map((r) => r.signatureFailures) },
              { name: t('governance.refusals'), data: rows.map(refused) },
              { name: t('governance.dataQuality'), data: rows.map((r) => r.dataQuality) },
              { name: t('governance.incidents'), data: rows.map((r) => r.incidents) },
            ]}
          />
          <DataTable
            testId="table-trust"
            caption={t('governance.chartTable')}
            rows={rows}
            rowKey={(r) => r.division}
            columns={[
              { title: t('governance.node'), key: 'node', render: (_, r) => nodeLabel(r) },
              { title: t('governance.source'), key: 'source', render: (_, r) => <SourceTag status={r.source} /> },
              { title: t('governance.availability'), key: 'availability', render: (_, r) => (r.availability === null ? t('governance.none') : `${percent(r.availability)}%`) },
              { title: t('governance.probes'), dataIndex: 'probes' },
              { title: t('governance.latency'), key: 'latency', render: (_, r) => `${r.meanLatencyMs ?? t('governance.none')} / ${r.maxLatencyMs ?? t('governance.none')}` },
              { title: t('governance.signatureFailures'), key: 'sig', render: (_, r) => r.signatureFailures ?? t('governance.none') },
              { title: t('governance.refusalsByCode'), key: 'refusals', render: (_, r) => r.refusals.map((x) => `${x.code}: ${x.count}`).join(', ') || '0' },
              { title: t('governance.dataQuality'), key: 'dq', render: (_, r) => r.dataQuality ?? t('governance.none') },
              { title: t('governance.incidents'), dataIndex: 'incidents' },
            ]}
          />
        </>
      )}
      {own && (
        <DataTable
          testId="table-own-refusals"
          caption={`${t('governance.own.heading', { node: own.node })}: ${t('governance.refusals')}`}
          rows={[...own.refusals, ...own.signatureFailures.map((s) => ({ ...s, code: `${s.code} (${t('governance.signatureFailures')})` }))]}
          rowKey={(r) => `${r.partner ?? ''}|${r.code}`}
          columns={[
            { title: t('governance.partner'), key: 'partner', render: (_, r) => r.partner ?? t('governance.none') },
            { title: t('governance.refusalsByCode'), dataIndex: 'code' },
            { title: t('governance.refusals'), dataIndex: 'count' },
          ]}
        />
      )}
    </Panel>
  );
}

function Balance({ report, own }: { report: FederationReport | undefined; own: NodeReport | undefined }) {
  const { t } = useTranslation();
  const rows = report?.balance.nodes ?? [];
  const assumption = report?.balance.assumption ?? { sameProvinceDays: 1, otherProvinceDays: 2 };
  return (
    <Panel heading={t('governance.balance.heading')} intro={t('governance.balance.intro', { same: assumption.sameProvinceDays, other: assumption.otherProvinceDays })}>
      {report && (
        <>
          <Bars
            testId="chart-balance"
            title={t('governance.balance.chart')}
            categories={rows.map((r) => r.name)}
            series={[
              { name: t('governance.acceptedForOthers'), data: rows.map((r) => r.acceptedForOthers) },
              { name: t('governance.acceptedByOthers'), data: rows.map((r) => r.acceptedByOthers) },
            ]}
          />
          <DataTable
            testId="table-balance"
            caption={t('governance.chartTable')}
            rows={rows}
            rowKey={(r) => r.division}
            columns={[
              { title: t('governance.node'), key: 'node', render: (_, r) => nodeLabel(r) },
              { title: t('governance.source'), key: 'source', render: (_, r) => <SourceTag status={r.source} /> },
              { title: t('governance.acceptedForOthers'), key: 'for', render: (_, r) => r.acceptedForOthers ?? t('governance.none') },
              { title: t('governance.acceptedByOthers'), key: 'by', render: (_, r) => r.acceptedByOthers ?? t('governance.none') },
              { title: t('governance.trips'), key: 'trips', render: (_, r) => r.savings?.trips ?? t('governance.none') },
              { title: t('governance.days'), key: 'days', render: (_, r) => r.savings?.days ?? t('governance.none') },
              { title: t('governance.applicants'), key: 'applicants', render: (_, r) => r.savings?.applicants ?? t('governance.none') },
              { title: t('governance.perApplicant'), key: 'per', render: (_, r) => (r.savings?.tripsPerApplicant == null ? t('governance.none') : `${r.savings.tripsPerApplicant} / ${r.savings.daysPerApplicant}`) },
            ]}
          />
        </>
      )}
      {own && (
        <DataTable
          testId="table-own-balance"
          caption={`${t('governance.ownBalance')} (${own.node})`}
          rows={own.balance}
          rowKey={(r) => r.partner}
          columns={[
            { title: t('governance.partner'), dataIndex: 'partner' },
            { title: t('governance.acceptedForPartner'), dataIndex: 'acceptedForPartner' },
            { title: t('governance.acceptedByPartner'), dataIndex: 'acceptedByPartner' },
          ]}
        />
      )}
    </Panel>
  );
}

function Learning({ report, own }: { report: FederationReport | undefined; own: NodeReport | undefined }) {
  const { t } = useTranslation();
  const learning = report?.learning;
  const groups = learning
    ? [
        { key: 'template', origin: t('governance.fromTemplate'), ...learning.fromTemplate },
        { key: 'scratch', origin: t('governance.fromScratch'), ...learning.fromScratch },
      ]
    : [];
  return (
    <Panel heading={t('governance.learning.heading')} intro={t('governance.learning.intro')}>
      {learning && learning.templates.length > 0 && (
        <Bars
          testId="chart-learning"
          title={t('governance.learning.chart')}
          categories={learning.templates.map((r) => r.template)}
          series={[
            { name: t('governance.agreements'), data: learning.templates.map((r) => r.agreements) },
            { name: t('governance.active'), data: learning.templates.map((r) => r.active) },
          ]}
        />
      )}
      {learning && (
        <DataTable
          testId="table-learning"
          caption={t('governance.chartTable')}
          rows={[...groups, ...learning.templates.map((r) => ({ key: `t:${r.template}`, origin: `${t('governance.template')} ${r.template}`, ...r }))]}
          rowKey={(r) => r.key}
          columns={[
            { title: t('governance.origin'), dataIndex: 'origin' },
            { title: t('governance.agreements'), dataIndex: 'agreements' },
            { title: t('governance.active'), dataIndex: 'active' },
            { title: t('governance.medianRounds'), key: 'rounds', render: (_, r) => r.medianRounds ?? t('governance.none') },
            { title: t('governance.medianHours'), key: 'hours', render: (_, r) => r.medianHoursToActive ?? t('governance.none') },
          ]}
        />
      )}
      {learning && learning.fromTemplate.agreements + learning.fromScratch.agreements === 0 && <Empty description={t('governance.noNegotiations')} />}
      {own && own.learning.length > 0 && (
        <Descriptions size="small" column={1} title={t('governance.own.heading', { node: own.node })} items={[{ key: 'n', label: t('governance.agreements'), children: own.learning.length }]} />
      )}
    </Panel>
  );
}

function Audit({ report, own }: { report: FederationReport | undefined; own: NodeReport | undefined }) {
  const { t, i18n } = useTranslation();
  const rows = report?.audit ?? [];
  return (
    <Panel heading={t('governance.audit.heading')} intro={t('governance.audit.intro')}>
      {report && (
        <>
          <Bars
            testId="chart-audit"
            title={t('governance.audit.chart')}
            categories={rows.map((r) => r.name)}
            series={[
              { name: t('governance.reportedSeq'), data: rows.map((r) => r.reportedSeq) },
              { name: t('governance.checkpoint'), data: rows.map((r) => r.checkpoint?.seq ?? null) },
            ]}
          />
          <DataTable
            testId="table-audit"
            caption={t('governance.chartTable')}
            rows={rows}
            rowKey={(r) => r.division}
            columns={[
              { title: t('governance.node'), key: 'node', render: (_, r) => nodeLabel(r) },
              { title: t('governance.chainStatus'), key: 'status', render: (_, r) => <Tag color={r.status === 'witnessed' ? 'green' : r.status === 'incident' || r.status === 'behind' || r.status === 'mismatch' ? 'red' : 'default'}>{t(`governance.status.${r.status}`)}</Tag> },
              { title: t('governance.reportedSeq'), key: 'seq', render: (_, r) => r.reportedSeq ?? t('governance.none') },
              { title: t('governance.checkpoint'), key: 'cp', render: (_, r) => r.checkpoint?.seq ?? t('governance.none') },
              { title: t('governance.checkpointAt'), key: 'at', render: (_, r) => (r.checkpoint ? new Date(r.checkpoint.at).toLocaleString(i18n.language === 'en' ? 'en-GB' : 'zh-CN') : t('governance.none')) },
              { title: t('governance.incidents'), dataIndex: 'incidents' },
            ]}
          />
        </>
      )}
      {own && (
        <Descriptions
          size="small"
          column={1}
          title={t('governance.own.heading', { node: own.node })}
          items={[
            { key: 'seq', label: t('governance.reportedSeq'), children: own.audit.seq },
            { key: 'cases', label: t('governance.casesTotal'), children: own.cases.total },
          ]}
        />
      )}
    </Panel>
  );
}
