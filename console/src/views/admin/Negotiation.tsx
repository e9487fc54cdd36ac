import { Alert, Button, Card, Descriptions, Empty, Form, Input, InputNumber, Select, Space, Spin, Switch, Table, Tag, Timeline, Typography } from 'antd';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { api, pageMeta } from '../../api/client.ts';
import { GrantsTable } from './GrantsTable.tsx';
import { adminHref, Link, parseChange, PassphraseField, ProblemAlert, ProblemView, problemOf, StateTag, useLoad, type ChangeLine, type Negotiation, type Problem, type Terms } from './shared.tsx';

const self = pageMeta('tongban-division');
const POLL_MS = 2000;
type Step = 'edit' | 'propose' | 'counter' | 'accept' | 'sign' | 'register' | 'activate' | 'abandon';

const KIND_COLOURS: Record<ChangeLine['kind'], string> = { added: 'green', removed: 'red', changed: 'gold' };

/** A diff between two versions of the terms, one row per change: added, removed or changed, with what it was and is. */
export function DiffTable({ changes, testId }: { changes: readonly string[]; testId: string }) {
  const { t } = useTranslation();
  if (changes.length === 0) return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('admin.diff.none')} />;
  const rows = changes.map((line, i) => ({ ...parseChange(line), key: `${i}` }));
  return (
    <Table
      data-testid={testId}
      size="small"
      rowKey="key"
      dataSource={rows}
      pagination={false}
      scroll={{ x: 'max-content' }}
      columns={[
        { title: t('admin.diff.kind'), key: 'kind', render: (_, c) => <Tag color={KIND_COLOURS[c.kind]} data-kind={c.kind}>{t(`admin.diff.${c.kind}`)}</Tag> },
        { title: t('admin.diff.path'), key: 'path', render: (_, c) => <Typography.Text code>{c.path}</Typography.Text> },
        { title: t('admin.diff.before'), key: 'before', render: (_, c) => c.before ?? '' },
        { title: t('admin.diff.after'), key: 'after', render: (_, c) => c.after ?? '' },
      ]}
    />
  );
}

/**
 * One negotiation as this node holds it: the rounds with the diff of each against the one it
 * answers (and the terms against their template), where every party stands, and the steps this
 * node may take now — edit and propose (the convener's draft), counter or accept the latest
 * round, sign what every party accepted, register (the convener), abandon. A party's step goes
 * to the convener, which applies it; this view asks again every two seconds.
 */
export function NegotiationView({ id }: { id: string }) {
  const { t } = useTranslation();
  const { data: n, problem, reload } = useLoad(() => api.GET('/v1/operator/agreements/drafts/{id}', { params: { path: { id } } }), [id], POLL_MS);
  const [round, setRound] = useState<number | undefined>();
  const back = <Link href={adminHref('agreements')}>← {t('admin.agreements.back')}</Link>;
  if (problem)
    return (
      <Space orientation="vertical" style={{ width: '100%' }}>
        {back}
        <ProblemView problem={problem} onRetry={reload} />
      </Space>
    );
  if (!n) return <Spin aria-label={t('loading')} />;
  const latest = n.rounds.at(-1);
  const shown = n.rounds.find((r) => r.number === round) ?? latest;
  const state = n.state === 'active' && n.agreementState && n.agreementState !== 'active' ? n.agreementState : n.state;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      {back}
      <Typography.Title level={3} style={{ margin: 0 }}>
        {n.terms.title} <StateTag state={state} />
      </Typography.Title>
      <Descriptions bordered size="small" column={{ xs: 1, sm: 1, md: 2 }}>
        <Descriptions.Item label={t('admin.negotiation')}>
          <Typography.Text code data-testid="negotiation-id">
            {n.id}
          </Typography.Text>
        </Descriptions.Item>
        <Descriptions.Item label={t('admin.agreement')}>
          {n.state === 'active' ? <Link href={adminHref('agreements', n.agreementId)}>{n.agreementId}</Link> : n.agreementId} v{n.terms.version}
        </Descriptions.Item>
        <Descriptions.Item label={t('admin.convener')}>{n.convener}</Descriptions.Item>
        <Descriptions.Item label={t('admin.template')}>{n.template ? `${n.template.id} v${n.template.version}` : t('admin.fromScratch')}</Descriptions.Item>
      </Descriptions>
      <Table
        size="small"
        rowKey="party"
        pagination={false}
        scroll={{ x: 'max-content' }}
        dataSource={n.parties.map((party) => ({
          party,
          accepted: latest ? n.acceptances.some((a) => a.party === party && a.round === latest.number) : false,
          signed: n.signatures.some((s) => s.party === party),
        }))}
        columns={[
          { title: t('admin.party'), key: 'party', render: (_, p) => (p.party === self ? t('admin.thisNode', { division: p.party }) : p.party) },
          { title: t('admin.acceptedLatest'), key: 'accepted', render: (_, p) => (p.accepted ? <Tag color="green">{t('admin.yes')}</Tag> : <Tag>{t('admin.no')}</Tag>) },
          { title: t('admin.signed'), key: 'signed', render: (_, p) => (p.signed ? <Tag color="green">{t('admin.yes')}</Tag> : <Tag>{t('admin.no')}</Tag>) },
        ]}
      />
      <Steps n={n} done={reload} />
      <Card size="small" title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('admin.diff.title')}</Typography.Title>}>
        {!shown ? (
          <Typography.Paragraph>{t('admin.diff.noRounds')}</Typography.Paragraph>
        ) : (
          <Space orientation="vertical" style={{ width: '100%' }}>
            <Form layout="inline">
              <Form.Item label={t('admin.diff.round')} htmlFor="diff-round">
                <Select<number>
                  id="diff-round"
                  style={{ minWidth: 220 }}
                  virtual={false}
                  value={shown.number}
                  onChange={setRound}
                  options={n.rounds.map((r) => ({ value: r.number, label: t('admin.diff.roundOption', { number: r.number, author: r.author }) }))}
                />
              </Form.Item>
            </Form>
            <Typography.Paragraph style={{ margin: 0 }} data-testid="diff-caption">
              {shown.answers ? t('admin.diff.against', { number: shown.number, author: shown.author, answers: shown.answers }) : t('admin.diff.first', { author: shown.author })}
            </Typography.Paragraph>
            {shown.answers && <DiffTable changes={shown.changes} testId="round-diff" />}
          </Space>
        )}
        {n.template && (
          <>
            <Typography.Title level={4} style={{ fontSize: 14 }}>
              {t('admin.diff.fromTemplate', { template: n.template.id })}
            </Typography.Title>
            <DiffTable changes={n.changesFromTemplate ?? []} testId="template-diff" />
          </>
        )}
      </Card>
      <Card
        size="small"
        title={
          <Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>
            {t('admin.terms', { which: shown ? t('admin.terms.round', { number: shown.number }) : t('admin.terms.current') })}
          </Typography.Title>
        }
      >
        <Descriptions size="small" column={{ xs: 1, sm: 1, md: 2 }} style={{ marginBottom: 8 }}>
          <Descriptions.Item label={t('admin.parties')}>{(shown?.terms ?? n.terms).parties.join(', ')}</Descriptions.Item>
          <Descriptions.Item label={t('admin.topology')}>{t(`admin.topology.${(shown?.terms ?? n.terms).topology}`)}</Descriptions.Item>
          <Descriptions.Item label={t('admin.validity')}>
            {new Date((shown?.terms ?? n.terms).validFrom).toLocaleDateString()} – {new Date((shown?.terms ?? n.terms).validUntil).toLocaleDateString()}
          </Descriptions.Item>
        </Descriptions>
        <GrantsTable terms={shown?.terms ?? n.terms} />
      </Card>
      <Card size="small" title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('admin.history')}</Typography.Title>}>
        <Timeline
          items={n.history.map((h) => ({
            content: (
              <div>
                <strong>{t(`admin.action.${h.action}`)}</strong> · {new Date(h.at).toLocaleString()}
                <div>
                  {h.actor.id} ({t(`role.${h.actor.role}`)}) @ {h.node}
                  {h.round ? ` · ${t('admin.roundN', { number: h.round })}` : ''}
                </div>
                {h.reason && <div>{h.reason}</div>}
              </div>
            ),
          }))}
        />
      </Card>
    </Space>
  );
}

/** The steps this node may take now, and the terms editor for a draft or a counter-offer. */
function Steps({ n, done }: { n: Negotiation; done: () => void }) {
  const { t } = useTranslation();
  const [problem, setProblem] = useState<Problem | undefined>();
  const [forwarded, setForwarded] = useState<string | undefined>();
  const [busy, setBusy] = useState<Step | undefined>();
  const [editing, setEditing] = useState<Terms | undefined>();
  const [reason, setReason] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const latest = n.rounds.at(-1);
  const convener = n.convener === self;
  const open = n.state === 'proposed' || n.state === 'countered';
  const accepted = !!latest && n.acceptances.some((a) => a.party === self && a.round === latest.number);
  const signed = n.signatures.some((s) => s.party === self);

  const step = async (action: Step, extra: { terms?: Terms; answers?: number; round?: number; hash?: string; reason?: string; passphrase?: string } = {}) => {
    setBusy(action);
    setProblem(undefined);
    setForwarded(undefined);
    const { data, error, response } = await api.POST('/v1/operator/agreements/drafts/{id}/actions', { params: { path: { id: n.id } }, body: { action, ...extra } });
    setBusy(undefined);
    if (!data) return setProblem(problemOf(error, response));
    setEditing(undefined);
    setReason('');
    setPassphrase('');
    if (data.forwardedTo) setForwarded(data.forwardedTo);
    done();
  };

  const buttons: ReactNode[] = [];
  const button = (action: Step, onClick: () => void, primary = false) =>
    buttons.push(
      <Button key={action} type={primary ? 'primary' : 'default'} loading={busy === action} onClick={onClick}>
        {t(`admin.step.${action}`)}
      </Button>,
    );
  if (n.state === 'draft' && convener) {
    button('edit', () => setEditing(n.terms));
    button('propose', () => void step('propose'), true);
  }
  if (open && latest) {
    if (!accepted) button('accept', () => void step('accept', { round: latest.number, hash: latest.hash }), true);
    button('counter', () => setEditing(latest.terms));
  }
  // Signing and registering bind the node: they carry the node passphrase (the hub never sees it).
  const binding = (n.state === 'accepted' && !signed) || (n.state === 'signed' && convener);
  if (n.state === 'accepted' && !signed) button('sign', () => void step('sign', { passphrase }), true);
  if (n.state === 'signed' && convener) button('register', () => void step('register', { passphrase }), true);
  // Registered before its validFrom: any party brings it into force once that time has come.
  if (n.state === 'registered' && Date.now() >= Date.parse(n.terms.validFrom)) button('activate', () => void step('activate'), true);
  const abandonable = ['draft', 'proposed', 'countered', 'accepted'].includes(n.state);

  if (buttons.length === 0 && !abandonable && !forwarded && !problem) return null;
  return (
    <Card size="small" title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('admin.steps')}</Typography.Title>}>
      <Space orientation="vertical" style={{ width: '100%' }}>
        {open && accepted && <Alert type="info" showIcon title={t('admin.waitingForOthers')} />}
        {n.state === 'accepted' && signed && <Alert type="info" showIcon title={t('admin.waitingForSignatures')} />}
        {n.state === 'signed' && !convener && <Alert type="info" showIcon title={t('admin.waitingForRegistration', { convener: n.convener })} />}
        {binding && (
          <Form layout="vertical" component="div">
            <PassphraseField value={passphrase} onChange={setPassphrase} />
          </Form>
        )}
        {buttons.length > 0 && <Space wrap>{buttons}</Space>}
        {forwarded && <Alert type="success" showIcon title={t('admin.forwarded', { convener: forwarded })} />}
        {problem && <ProblemAlert problem={problem} />}
        {editing && (
          <TermsEditor
            terms={editing}
            baseline={[...n.rounds.map((r) => r.terms), ...(n.template ? [n.template.baseline] : [])]}
            onChange={setEditing}
            onCancel={() => setEditing(undefined)}
            submitLabel={n.state === 'draft' ? t('admin.step.saveDraft') : t('admin.step.sendCounter')}
            busy={busy === 'edit' || busy === 'counter'}
            onSubmit={() => void (n.state === 'draft' ? step('edit', { terms: editing }) : step('counter', { terms: editing, answers: latest!.number }))}
          />
        )}
        {abandonable && (
          <Form layout="inline" onFinish={() => void step('abandon', { reason })}>
            <Form.Item label={t('admin.abandonReason')} htmlFor="abandon-reason">
              <Input id="abandon-reason" value={reason} maxLength={1000} onChange={(e) => setReason(e.target.value)} />
            </Form.Item>
            <Button htmlType="submit" danger loading={busy === 'abandon'} disabled={reason.trim() === ''}>
              {t('admin.step.abandon')}
            </Button>
          </Form>
        )}
      </Space>
    </Card>
  );
}

type Item = Terms['items'][number];
type Grant = Item['grants'][number];

/**
 * The terms a data administrator changes most: per item its time limit, per grant the fields given
 * and whether the citizen's consent is required; an item can be dropped. The fields offered are
 * those of any version on the table (rounds, template), so a field taken out can be put back.
 */
function TermsEditor(props: { terms: Terms; baseline: readonly Terms[]; onChange: (t: Terms) => void; onCancel: () => void; onSubmit: () => void; submitLabel: string; busy: boolean }) {
  const { t } = useTranslation();
  const { terms, onChange } = props;
  const grantKey = (item: Item, g: Grant) => `${item.itemCode}:${g.provider}:${g.service}`;
  const offered = new Map<string, Set<string>>();
  for (const version of [terms, ...props.baseline]) {
    for (const item of version.items) for (const g of item.grants) g.fields.forEach((f) => (offered.get(grantKey(item, g)) ?? offered.set(grantKey(item, g), new Set()).get(grantKey(item, g))!).add(f));
  }
  const setItem = (code: string, change: (item: Item) => Item) => onChange({ ...terms, items: terms.items.map((i) => (i.itemCode === code ? change(i) : i)) });
  const setGrant = (item: Item, key: string, change: (g: Grant) => Grant) => setItem(item.itemCode, (i) => ({ ...i, grants: i.grants.map((g) => (grantKey(i, g) === key ? change(g) : g)) }));
  return (
    <Card size="small" type="inner" title={t('admin.editor.title')} data-testid="terms-editor">
      <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
        {terms.items.map((item) => (
          <Card key={item.itemCode} size="small" title={t('admin.editor.item', { code: item.itemCode })}>
            <Space orientation="vertical" style={{ width: '100%' }}>
              <Space wrap>
                <label htmlFor={`limit-${item.itemCode}`}>{t('admin.editor.timeLimit')}</label>
                <InputNumber
                  id={`limit-${item.itemCode}`}
                  aria-label={t('admin.editor.timeLimitOf', { code: item.itemCode })}
                  min={0}
                  max={365}
                  value={item.timeLimitDays ?? null}
                  onChange={(v) => setItem(item.itemCode, (i) => (v === null ? (({ timeLimitDays: _, ...rest }) => rest)(i) : { ...i, timeLimitDays: Number(v) }))}
                />
                {terms.items.length > 1 && (
                  <Button danger size="small" onClick={() => onChange({ ...terms, items: terms.items.filter((i) => i.itemCode !== item.itemCode) })}>
                    {t('admin.editor.removeItem', { code: item.itemCode })}
                  </Button>
                )}
              </Space>
              {item.grants.map((g) => {
                const key = grantKey(item, g);
                return (
                  <div key={key}>
                    <Typography.Text strong>{t('admin.editor.grant', { provider: g.provider, service: g.service, requesters: g.requesters.join(', ') })}</Typography.Text>
                    <Select<string[]>
                      mode="multiple"
                      style={{ width: '100%' }}
                      virtual={false}
                      aria-label={t('admin.editor.fieldsOf', { provider: g.provider, service: g.service, code: item.itemCode })}
                      value={g.fields}
                      options={[...(offered.get(key) ?? [])].map((f) => ({ value: f, label: f }))}
                      onChange={(fields) => setGrant(item, key, (x) => ({ ...x, fields }))}
                    />
                    <Space>
                      <Switch
                        aria-label={t('admin.editor.consentOf', { provider: g.provider, service: g.service, code: item.itemCode })}
                        checked={g.consentRequired}
                        onChange={(consentRequired) => setGrant(item, key, (x) => ({ ...x, consentRequired }))}
                      />
                      <span>{t('admin.consentRequired')}</span>
                    </Space>
                  </div>
                );
              })}
            </Space>
          </Card>
        ))}
        <Space wrap>
          <Button type="primary" loading={props.busy} onClick={props.onSubmit}>
            {props.submitLabel}
          </Button>
          <Button onClick={props.onCancel}>{t('admin.editor.cancel')}</Button>
        </Space>
      </Space>
    </Card>
  );
}
