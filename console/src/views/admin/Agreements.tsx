import { Alert, Button, Card, Descriptions, Form, Input, Space, Spin, Table, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, pageMeta } from '../../api/client.ts';
import { go } from '../../router.ts';
import { GrantsTable } from './GrantsTable.tsx';
import { adminHref, Link, PassphraseField, ProblemAlert, ProblemView, problemOf, StateTag, useLoad, type AgreementAtNode, type NegotiationSummary, type Problem } from './shared.tsx';

const self = pageMeta('tongban-division');
const POLL_MS = 3000;

function title({ level, children }: { level: 3; children: string }) {
  return (
    <Typography.Title level={level} style={{ margin: 0, fontSize: 16 }}>
      {children}
    </Typography.Title>
  );
}

/** The agreements this node relies on (in force, suspended, ended) and its negotiations. */
export function Agreements() {
  const { t } = useTranslation();
  const agreements = useLoad(() => api.GET('/v1/operator/agreements', { params: { query: { limit: 200 } } }), [], POLL_MS);
  // Asked once the node let this person read its agreements: a refusal is shown once, not twice.
  const allowed = agreements.data !== undefined;
  const negotiations = useLoad(() => api.GET('/v1/operator/agreements/drafts', { params: { query: {} } }), [], POLL_MS, allowed);
  if (agreements.problem) return <ProblemView problem={agreements.problem} onRetry={agreements.reload} />;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Card size="small" title={title({ level: 3, children: t('admin.agreements.title') })}>
        <Table<AgreementAtNode>
          size="small"
          rowKey={(a) => a.terms.id}
          loading={!agreements.data}
          dataSource={agreements.data?.agreements ?? []}
          pagination={false}
          scroll={{ x: 'max-content' }}
          columns={[
            { title: t('admin.agreement'), key: 'id', render: (_, a) => <Link href={adminHref('agreements', a.terms.id)}>{a.terms.id}</Link> },
            { title: t('admin.agreementTitle'), key: 'title', render: (_, a) => a.terms.title },
            { title: t('admin.state'), key: 'state', render: (_, a) => <StateTag state={a.state} /> },
            { title: t('admin.parties'), key: 'parties', render: (_, a) => a.terms.parties.join(', ') },
            { title: t('admin.items'), key: 'items', render: (_, a) => a.terms.items.map((i) => i.itemCode).join(', ') },
            { title: t('admin.validUntil'), key: 'until', render: (_, a) => new Date(a.terms.validUntil).toLocaleDateString() },
          ]}
        />
      </Card>
      <Card
        size="small"
        title={title({ level: 3, children: t('admin.negotiations.title') })}
        extra={
          <Button type="primary" href={adminHref('templates')} onClick={(e) => (e.preventDefault(), go(adminHref('templates')))}>
            {t('admin.negotiations.new')}
          </Button>
        }
      >
        {negotiations.problem ? <ProblemAlert problem={negotiations.problem} /> : <NegotiationTable rows={negotiations.data} />}
      </Card>
    </Space>
  );
}

function NegotiationTable({ rows }: { rows: NegotiationSummary[] | undefined }) {
  const { t } = useTranslation();
  return (
    <Table<NegotiationSummary>
      size="small"
      rowKey="id"
      loading={!rows}
      dataSource={rows ?? []}
      pagination={false}
      scroll={{ x: 'max-content' }}
      locale={{ emptyText: t('admin.negotiations.none') }}
      columns={[
        { title: t('admin.negotiation'), key: 'id', render: (_, n) => <Link href={adminHref('negotiations', n.id)}>{n.id}</Link> },
        { title: t('admin.agreement'), key: 'agreement', render: (_, n) => `${n.agreementId} v${n.version}` },
        { title: t('admin.convener'), dataIndex: 'convener' },
        { title: t('admin.state'), key: 'state', render: (_, n) => <StateTag state={n.agreementState && n.agreementState !== 'active' ? n.agreementState : n.state} /> },
        { title: t('admin.rounds'), dataIndex: 'rounds' },
        { title: t('admin.template'), key: 'template', render: (_, n) => n.template ?? t('admin.fromScratch') },
        { title: t('updated'), key: 'updated', render: (_, n) => new Date(n.updatedAt).toLocaleString() },
      ]}
    />
  );
}

/** One agreement: its parties and items with their grants, where it stands, and the steps this node may take (suspend, resume). */
export function AgreementDetail({ id }: { id: string }) {
  const { t } = useTranslation();
  const { data, problem, reload } = useLoad(() => api.GET('/v1/operator/agreements', { params: { query: { limit: 200 } } }), [id], POLL_MS);
  const negotiations = useLoad(() => api.GET('/v1/operator/agreements/drafts', { params: { query: { agreementId: id } } }), [id], POLL_MS, data !== undefined);
  const back = <Link href={adminHref('agreements')}>← {t('admin.agreements.back')}</Link>;
  if (problem) return <ProblemView problem={problem} onRetry={reload} />;
  if (!data) return <Spin aria-label={t('loading')} />;
  const a = data.agreements.find((x) => x.terms.id === id);
  if (!a)
    return (
      <Space orientation="vertical">
        {back}
        <Alert type="warning" showIcon title={t('admin.agreements.notFound', { id })} />
      </Space>
    );
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      {back}
      <Typography.Title level={3} style={{ margin: 0 }}>
        {a.terms.title} <StateTag state={a.state} />
      </Typography.Title>
      <Descriptions bordered size="small" column={{ xs: 1, sm: 1, md: 2 }}>
        <Descriptions.Item label={t('admin.agreement')}>
          <Typography.Text code>{a.terms.id}</Typography.Text> v{a.terms.version}
        </Descriptions.Item>
        <Descriptions.Item label={t('admin.topology')}>{t(`admin.topology.${a.terms.topology}`)}</Descriptions.Item>
        <Descriptions.Item label={t('admin.parties')}>{a.terms.parties.join(', ')}</Descriptions.Item>
        <Descriptions.Item label={t('admin.signedBy')}>{a.signedBy.join(', ')}</Descriptions.Item>
        <Descriptions.Item label={t('admin.validity')}>
          {new Date(a.terms.validFrom).toLocaleDateString()} – {new Date(a.terms.validUntil).toLocaleDateString()}
        </Descriptions.Item>
        <Descriptions.Item label={t('admin.state')}>
          <StateTag state={a.state} />
          {a.stateChange && (
            <span data-testid="state-change">
              {t('admin.stateChange', { party: a.stateChange.party, actor: a.stateChange.actor, at: new Date(a.stateChange.at).toLocaleString(), reason: a.stateChange.reason })}
            </span>
          )}
        </Descriptions.Item>
      </Descriptions>
      <LifecycleSteps agreement={a} done={reload} />
      <Card size="small" title={title({ level: 3, children: t('admin.grants') })}>
        <GrantsTable terms={a.terms} />
      </Card>
      <Card size="small" title={title({ level: 3, children: t('admin.negotiations.title') })}>
        <NegotiationTable rows={negotiations.data} />
      </Card>
    </Space>
  );
}

/** Suspend an agreement in force, or resume one this node suspended (the other parties are told, signed). */
function LifecycleSteps({ agreement: a, done }: { agreement: AgreementAtNode; done: () => void }) {
  const { t } = useTranslation();
  const [reason, setReason] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [problem, setProblem] = useState<Problem | undefined>();
  const [busy, setBusy] = useState(false);
  const action = a.state === 'active' ? 'suspend' : a.state === 'suspended' && a.stateChange?.party === self ? 'resume' : undefined;
  if (!a.terms.parties.includes(self)) return null;
  if (!action) {
    return a.state === 'suspended' ? <Alert type="warning" showIcon title={t('admin.lifecycle.onlySuspender', { party: a.stateChange?.party ?? '?' })} /> : null;
  }
  const submit = async () => {
    setBusy(true);
    setProblem(undefined);
    const { data, error, response } = await api.POST(action === 'suspend' ? '/v1/operator/agreements/{id}/suspend' : '/v1/operator/agreements/{id}/resume', {
      params: { path: { id: a.terms.id } },
      // Resuming binds the node again: the node passphrase (suspending needs none).
      body: action === 'resume' ? { reason, passphrase } : { reason },
    });
    setBusy(false);
    if (data) {
      setReason('');
      setPassphrase('');
      done();
    } else setProblem(problemOf(error, response));
  };
  return (
    <Card size="small" title={title({ level: 3, children: t(`admin.lifecycle.${action}Title`) })}>
      <Typography.Paragraph>{t(`admin.lifecycle.${action}Intro`)}</Typography.Paragraph>
      <Form layout="vertical" onFinish={() => void submit()}>
        <Form.Item label={t('admin.reason')} htmlFor="lifecycle-reason" required>
          <Input id="lifecycle-reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
        </Form.Item>
        {action === 'resume' && <PassphraseField value={passphrase} onChange={setPassphrase} />}
        <Button htmlType="submit" danger={action === 'suspend'} type="primary" loading={busy} disabled={reason.trim() === ''}>
          {t(`admin.lifecycle.${action}`)}
        </Button>
      </Form>
      {problem && <ProblemAlert problem={problem} />}
    </Card>
  );
}
