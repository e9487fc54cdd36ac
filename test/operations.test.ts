import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigFile, type NodeConfig } from '../src/config/index.ts';
import { productionWarnings } from '../src/server/warnings.ts';
import { startTestFederation, type TestFederation } from './support/federation.ts';

/**
 * Operations (issue 10, item 2) on real servers: /metrics counts exactly the exchanges that
 * happened, with their labels; the three servers of a hub exchange log the same request id and
 * no personal value; liveness and readiness differ; demo-like settings are warned about.
 */
const SANDU = '522732';
const ANJI = '330523';
const QINGPU = '310118';
const CHANGZHOU = '320400';
const HUB = '100000';
const UNKNOWN_ID = '11010519491231002X';

let t: TestFederation;
let person: { idNumber: string; name: string };
const endpointOf = (division: string) => (division === HUB ? t.f.hub.endpoint : t.f.nodes.get(division)!.endpoint);

async function metrics(division: string, token: string | undefined = t.f.operatorToken(division)): Promise<{ status: number; text: string; type: string }> {
  const response = await fetch(new URL('/metrics', endpointOf(division)), { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, text: await response.text(), type: response.headers.get('content-type') ?? '' };
}

/** The value of one sample, by metric name and exact labels (in any order); undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.keys(found).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

const exchange = (from: string, subject: string) =>
  t.operator(from, '/v1/operator/exchange', { provider: SANDU, service: 'household.residence-proof', subject: { type: 'idNumber', value: subject }, purpose: '户籍类证明开具' });

beforeAll(async () => {
  t = await startTestFederation('sqlite', {}, { logLevel: 'info' });
  const { sampleSubjects } = await import('../src/demo/registries.ts');
  person = sampleSubjects(t.f.registryPath(SANDU), 1).people[0]!;
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

describe('GET /metrics', () => {
  it('counts N bridge exchanges and M refusals on the requester and the provider, with their labels', async () => {
    const N = 3;
    const M = 2;
    for (let i = 0; i < N; i++) expect((await exchange(ANJI, person.idNumber)).status).toBe(200);
    for (let i = 0; i < M; i++) expect((await exchange(ANJI, UNKNOWN_ID)).json.code).toBe('SUBJECT_NOT_FOUND');

    const requester = await metrics(ANJI);
    expect(requester.status).toBe(200);
    expect(requester.type).toMatch(/^text\/plain/);
    const labels = { via: 'bridge', requester: ANJI, provider: SANDU };
    expect(sample(requester.text, 'tongban_exchanges_total', { direction: 'requester', ...labels, code: 'OK' })).toBe(N);
    expect(sample(requester.text, 'tongban_exchanges_total', { direction: 'requester', ...labels, code: 'SUBJECT_NOT_FOUND' })).toBe(M);
    expect(sample(requester.text, 'tongban_exchange_duration_seconds_count', { direction: 'requester', status: '200' })).toBe(N);
    expect(sample(requester.text, 'tongban_exchange_duration_seconds_count', { direction: 'requester', status: '404' })).toBe(M);

    const provider = await metrics(SANDU);
    expect(sample(provider.text, 'tongban_exchanges_total', { direction: 'provider', ...labels, code: 'OK' })).toBe(N);
    expect(sample(provider.text, 'tongban_exchanges_total', { direction: 'provider', ...labels, code: 'SUBJECT_NOT_FOUND' })).toBe(M);
    expect(sample(provider.text, 'tongban_exchange_duration_seconds_count', { direction: 'provider', status: '200' })).toBe(N);
    // Nothing else: the provider answered no other exchange.
    expect(provider.text.split('\n').filter((l) => l.startsWith('tongban_exchanges_total{')).length).toBe(2);
    // No personal value on the page.
    for (const text of [requester.text, provider.text]) {
      expect(text).not.toContain(person.idNumber);
      expect(text).not.toContain(UNKNOWN_ID);
      expect(text).not.toContain(person.name);
    }
  });

  it('counts a relayed exchange at the hub', async () => {
    expect((await exchange(QINGPU, person.idNumber)).status).toBe(200);
    const hub = await metrics(HUB);
    expect(sample(hub.text, 'tongban_exchanges_total', { direction: 'relayed', via: 'hub', requester: QINGPU, provider: SANDU, code: 'OK' })).toBe(1);
    expect(sample(hub.text, 'tongban_exchange_duration_seconds_count', { direction: 'relayed', status: '200' })).toBe(1);
    const provider = await metrics(SANDU);
    expect(sample(provider.text, 'tongban_exchanges_total', { direction: 'provider', via: 'hub', requester: QINGPU, provider: SANDU, code: 'OK' })).toBe(1);
  });

  it('shows outbox, audit, directory, case and process gauges with sane values', async () => {
    // A hand-off to a stopped node stays pending in the outbox.
    await t.f.nodes.get(CHANGZHOU)!.stop();
    const clerk = (await t.operator(SANDU, '/v1/operator/accounts', { id: 'ops-clerk', role: 'clerk', name: '王' })).json.token as string;
    const applied = await fetch(new URL('/v1/cases', endpointOf(SANDU)), {
      method: 'POST',
      headers: { authorization: `Bearer ${clerk}`, 'content-type': 'application/json' },
      body: JSON.stringify({ itemCode: 'N034', mode: 'online', competentNodes: [CHANGZHOU], applicant: person }),
    });
    expect(applied.status).toBe(201);
    const before = await metrics(SANDU);
    expect(sample(before.text, 'tongban_cases', { state: 'applied' })).toBe(1);
    expect(sample(before.text, 'tongban_cases_time_status', { light: 'none' })).toBe(1);
    // Acceptance hands the case to the competent node, which is down.
    const { case: c } = (await applied.json()) as { case: { id: string; materials: Array<{ name: string }> } };
    const act = (action: string, body: unknown) =>
      fetch(new URL(`/v1/cases/${c.id}/actions/${action}`, endpointOf(SANDU)), {
        method: 'POST',
        headers: { authorization: `Bearer ${clerk}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await act('precheck', { materials: c.materials.map((m) => ({ name: m.name, checked: true })), identityVerified: true })).status).toBe(200);
    const accepted = await act('accept', {});
    expect(accepted.status, await accepted.clone().text()).toBe(200);
    const { text } = await metrics(SANDU);
    expect(sample(text, 'tongban_cases', { state: 'applied' })).toBe(0);
    expect(sample(text, 'tongban_cases', { state: 'accepted' })).toBe(1);
    expect(sample(text, 'tongban_cases_time_status', { light: 'green' })).toBe(1);
    expect(sample(text, 'tongban_cases_time_status', { light: 'none' })).toBe(0);
    expect(sample(text, 'tongban_cases_time_status_examined')).toBe(1);
    expect(sample(text, 'tongban_outbox_messages', { destination: CHANGZHOU, status: 'pending' })).toBeGreaterThanOrEqual(1);
    const outboxAge = sample(text, 'tongban_outbox_oldest_age_seconds', { destination: CHANGZHOU, status: 'pending' })!;
    expect(outboxAge).toBeGreaterThanOrEqual(0);
    expect(outboxAge).toBeLessThan(60);
    const audit = (await t.auditEntries(SANDU)).length;
    expect(sample(text, 'tongban_audit_chain_length')).toBeGreaterThanOrEqual(audit - 5);
    expect(sample(text, 'tongban_audit_chain_length')).toBeLessThanOrEqual(audit + 5);
    const checkpointAge = sample(text, 'tongban_audit_last_checkpoint_age_seconds')!;
    expect(checkpointAge).toBeGreaterThanOrEqual(0);
    expect(checkpointAge).toBeLessThan(60);
    const directoryAge = sample(text, 'tongban_directory_snapshot_age_seconds')!;
    expect(directoryAge).toBeGreaterThanOrEqual(0);
    expect(directoryAge).toBeLessThan(60);
    expect(sample(text, 'tongban_directory_usable')).toBe(1);
    expect(sample(text, 'tongban_database_up')).toBe(1);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'tongban_metrics_collect_errors_total')).toBeUndefined();
    const hub = await metrics(HUB);
    expect(sample(hub.text, 'tongban_directory_snapshot_age_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('needs the operator (or metrics) token unless made public', async () => {
    const anonymous = await metrics(SANDU, '');
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.text).code).toBe('UNAUTHORIZED');
    expect((await metrics(SANDU, t.f.operatorToken(ANJI))).status).toBe(401);
  });
});

describe('structured logs', () => {
  it('the requester, the hub and the provider log the same request id for a hub exchange, and no ID number or name', async () => {
    const answer = await exchange(QINGPU, person.idNumber);
    expect(answer.status).toBe(200);
    const requestId = answer.json.requestId as string;
    type Line = { msg: string; reqId?: string; req?: { url: string }; exchange?: { requestId: string; side: string; code: string } };
    const linesOf = (division: string) =>
      t.logs.filter((l) => l.startsWith(`[${division}] {`)).map((l) => JSON.parse(l.slice(l.indexOf('{'))) as Line);
    for (const [division, side] of [[QINGPU, 'requester'], [HUB, 'relayed'], [SANDU, 'provider']] as const) {
      const line = linesOf(division).find((l) => l.exchange?.requestId === requestId);
      expect(line, `${division} logs exchange ${requestId}`).toMatchObject({ msg: 'exchange', exchange: { requestId, side, code: 'OK' } });
    }
    // The hub's and the provider's request log lines carry the exchange's id as their request id
    // (sent along as x-request-id: the requester's to the hub, the hub's, from the envelope, to the provider).
    for (const [division, url] of [[HUB, '/v1/relay'], [SANDU, '/v1/exchange/relayed']] as const) {
      const lines = linesOf(division).filter((l) => l.reqId === requestId);
      expect(lines.map((l) => l.msg), `${division} request lines of ${requestId}`).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
      expect(lines.find((l) => l.msg === 'incoming request')?.req?.url).toBe(url);
    }
    // A bridge exchange: the provider's request lines carry the requester's exchange id too.
    const bridged = await exchange(ANJI, person.idNumber);
    expect(bridged.status).toBe(200);
    expect(linesOf(SANDU).some((l) => l.reqId === bridged.json.requestId && l.msg === 'request completed')).toBe(true);
    expect(linesOf(ANJI).some((l) => l.exchange?.requestId === bridged.json.requestId)).toBe(true);
    // Request logs are on (info) and carry request ids; no personal value anywhere.
    expect(linesOf(SANDU).some((l) => 'reqId' in l)).toBe(true);
    const all = t.logs.join('\n');
    expect(all).not.toContain(person.idNumber);
    expect(all).not.toContain(person.name);
    expect(all).not.toContain(UNKNOWN_ID);
    expect(all).not.toContain(t.f.operatorToken(QINGPU));
  });

  it('keeps a caller’s x-request-id and answers with it', async () => {
    const response = await fetch(new URL('/health/live', endpointOf(SANDU)), { headers: { 'x-request-id': 'probe-42' } });
    expect(response.headers.get('x-request-id')).toBe('probe-42');
    expect(t.logs.some((l) => l.startsWith(`[${SANDU}] {`) && l.includes('"reqId":"probe-42"'))).toBe(true);
    const odd = await fetch(new URL('/health/live', endpointOf(SANDU)), { headers: { 'x-request-id': 'a b;{"x":1}' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('start-up warnings', () => {
  it('a demo node on plain HTTP warns loudly at start', () => {
    for (const division of [HUB, SANDU]) {
      const block = t.logs.find((l) => l.startsWith(`[${division}]`) && l.includes('WARNING: settings unsafe for production'));
      expect(block, division).toBeDefined();
      expect(block).toMatch(/plain HTTP/);
      expect(block).toMatch(/demo federation/);
    }
  });

  it('an https node that is not a demo does not warn about HTTP', () => {
    const base = {
      node: { division: SANDU, name: '三都', role: 'node' },
      database: { url: 'sqlite:x.sqlite' },
      keys: { algorithm: 'Ed25519', file: 'k.json' },
      hub: { url: 'https://hub.example.gov.cn', kid: 'k', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } },
    };
    const config = (extra: Record<string, unknown>) => ConfigFile.parse({ ...base, ...extra }) as unknown as NodeConfig;
    expect(productionWarnings(config({ server: { publicUrl: 'https://sandu.example.gov.cn' } }), 'https://sandu.example.gov.cn')).toEqual([]);
    const unsafe = productionWarnings(config({ server: { rateLimit: { enabled: false } }, metrics: { public: true }, demo: true }), 'http://127.0.0.1:7701');
    expect(unsafe.join('\n')).toMatch(/plain HTTP[\s\S]*demo federation[\s\S]*Rate limiting[\s\S]*metrics/);
  });
});

describe('liveness and readiness', () => {
  it('/health/live and /health/ready answer 200 while everything is up', async () => {
    for (const division of [HUB, SANDU]) {
      expect((await fetch(new URL('/health/live', endpointOf(division)))).status).toBe(200);
      const ready = await fetch(new URL('/health/ready', endpointOf(division)));
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready' });
    }
  });

  it('a node whose directory expired is live but not ready; /health still answers 200 with usable: false', async () => {
    await t.f.hub.stop();
    const deadline = Date.now() + 20_000;
    let ready: Response;
    do {
      await new Promise((resolve) => setTimeout(resolve, 250));
      ready = await fetch(new URL('/health/ready', endpointOf(SANDU)));
    } while (ready.status === 200 && Date.now() < deadline);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await ready.json()) as { code: string }).code).toBe('DIRECTORY_EXPIRED');
    expect((await fetch(new URL('/health/live', endpointOf(SANDU)))).status).toBe(200);
    const health = await fetch(new URL('/health', endpointOf(SANDU)));
    expect(health.status).toBe(200);
    expect(((await health.json()) as { directory: { usable: boolean } }).directory.usable).toBe(false);
  }, 30_000);
});
