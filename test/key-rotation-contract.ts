import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.ts';
import { signingKeyFromJwk, type SigningKey } from '../src/crypto/index.ts';
import { sampleSubjects } from '../src/demo/registries.ts';
import { keyFiles } from '../src/node/index.ts';
import { startTestFederation, type Backend, type TestFederation } from './support/federation.ts';

const run = promisify(execFile);
const BIN = new URL('../bin/tongban.js', import.meta.url).pathname;
const SANDU = '522732';
const ANJI = '330523';
const SANDU_ANJI = 'AGR-522732-330523-001';
const OVERLAP_SECONDS = 30;

/**
 * Key rotation, node side (issue 8, item 1: "an explicit, approved, audited operation with an
 * overlap period"), against real servers on SQLite and PostgreSQL: Anji asks for a new key,
 * keeps signing with its old one while the hub administrator decides, switches without a
 * restart once approved (and keeps the new key across restarts), stays on its key when rejected.
 */
export function keyRotationContract(backend: Backend): void {
  let t: TestFederation;
  let sanduPerson: string;
  let anjiPerson: string;

  beforeAll(async () => {
    t = await startTestFederation(backend, { directory: { refreshSeconds: 0.5, snapshotTtlSeconds: 600 } });
    sanduPerson = sampleSubjects(t.f.registryPath(SANDU), 1).people[0]!.idNumber;
    anjiPerson = sampleSubjects(t.f.registryPath(ANJI), 1).people[0]!.idNumber;
    // The servers listen on ephemeral ports; tell the CLI where the hub and Anji answer.
    for (const [path, endpoint] of [
      [t.f.hub.configPath, t.f.hub.endpoint],
      [t.f.nodes.get(ANJI)!.configPath, t.f.nodes.get(ANJI)!.endpoint],
    ] as const) {
      const config = JSON.parse(readFileSync(path, 'utf8'));
      writeFileSync(path, JSON.stringify({ ...config, server: { ...config.server, publicUrl: endpoint } }));
    }
  }, 90_000);
  afterAll(async () => {
    await t?.stop();
  });

  const anjiConfig = () => loadConfig(t.f.nodes.get(ANJI)!.configPath, {});
  const files = () => keyFiles(anjiConfig());
  const keyIn = (file: string): SigningKey => signingKeyFromJwk(ANJI, (JSON.parse(readFileSync(file, 'utf8')) as { privateJwk: unknown }).privateJwk);
  const cli = async (...args: string[]) => run(process.execPath, [BIN, ...args]);
  const keysStatus = async () => JSON.parse((await cli('keys', 'status', '--node', ANJI, '--federation', t.f.dir, '--json')).stdout);
  const admin = async (method: 'GET' | 'POST', path: string) => {
    const response = await fetch(new URL(path, t.f.hub.endpoint), { method, headers: { authorization: `Bearer ${t.f.adminToken()}` } });
    return { status: response.status, json: (await response.json()) as any };
  };
  /** Anji asks Sandu (bridge) through its operator API; the kid Sandu's audit records for it. */
  const anjiAsksSandu = async () => {
    const r = await t.operator(ANJI, '/v1/operator/exchange', { provider: SANDU, service: 'household.residence-proof', subject: { type: 'idNumber', value: sanduPerson }, purpose: '户籍类证明开具' });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const provided = (await t.auditEntries(SANDU)).filter((e) => e.kind === 'exchange.provide' && e.requestId === r.json.requestId);
    expect(provided).toHaveLength(1);
    return provided[0].detail.keyid as string;
  };
  const sanduAsksAnji = () =>
    t.operator(SANDU, '/v1/operator/exchange', { provider: ANJI, service: 'social-insurance.contribution-history', subject: { type: 'idNumber', value: anjiPerson }, purpose: '养老保险关系转移接续' });
  /** A bridge request to Sandu signed with `key` as Anji's. */
  const signedBy = (key: SigningKey) =>
    t.raw({
      from: ANJI,
      to: SANDU,
      key,
      body: {
        requestId: crypto.randomUUID(),
        requester: ANJI,
        provider: SANDU,
        agreementId: SANDU_ANJI,
        itemCode: 'N034',
        service: 'household.residence-proof',
        purpose: '户籍类证明开具',
        caseId: 'CASE-ROTATION',
        operator: { id: 'clerk-1', role: 'clerk' },
        subject: { type: 'idNumber', value: sanduPerson },
        fields: ['name'],
      },
    });
  const published = async (division: string) => {
    const { snapshot } = (await (await fetch(new URL('/v1/directory/snapshot', t.f.hub.endpoint))).json()) as { snapshot: string };
    const body = JSON.parse(Buffer.from(snapshot.split('.')[1]!, 'base64url').toString('utf8')) as { nodes: Array<{ division: string; signingKey: { kid: string }; previousKeys?: Array<{ kid: string; validUntil: string }> }> };
    return body.nodes.find((n) => n.division === division)!;
  };
  const anjiAudit = async (kind: string) => (await t.auditEntries(ANJI)).filter((e) => e.kind === kind);

  let original: SigningKey;

  it('a rejected rotation leaves the node on its key; the pending key is deleted and the status says rejected', async () => {
    original = keyIn(files().current);
    expect(await keysStatus()).toMatchObject({ division: ANJI, algorithm: 'Ed25519', current: { kid: original.kid }, pending: null, rotation: null });

    const asked = await cli('keys', 'rotate', '--node', ANJI, '--federation', t.f.dir);
    expect(asked.stdout).toMatch(/waits for the hub administrator's approval/);
    const pending = await keysStatus();
    expect(pending).toMatchObject({ current: { kid: original.kid }, rotation: { status: 'pending', previousKid: original.kid } });
    const rejectedKid = pending.pending.kid as string;
    expect(rejectedKid).not.toBe(original.kid);
    expect((await admin('GET', '/v1/directory/changes')).json.changes).toEqual([expect.objectContaining({ division: ANJI, kind: 'rotation', signingKid: rejectedKid })]);

    await cli('directory', 'reject-change', ANJI, '--federation', t.f.dir);
    // The node asks the hub when its status is looked at (and on its timer).
    const after = await keysStatus();
    expect(after).toMatchObject({ current: { kid: original.kid }, pending: null, rotation: { kid: rejectedKid, status: 'rejected' } });
    expect((await cli('keys', 'status', '--node', ANJI, '--federation', t.f.dir)).stdout).toMatch(/rejected by the hub administrator/);
    expect(existsSync(files().pending)).toBe(false);
    expect(keyIn(files().current).kid).toBe(original.kid);
    expect((await published(ANJI)).signingKey.kid).toBe(original.kid);
    expect(await anjiAsksSandu()).toBe(original.kid);
    expect((await anjiAudit('key.rotation.rejected')).at(-1)).toMatchObject({ outcome: 'refused', detail: { kid: rejectedKid, currentKid: original.kid } });
  }, 60_000);

  let next: SigningKey;

  it('a rotation waits as a pending 0600 key file (never in the database) and the node keeps signing with its current key', async () => {
    // A stale or repeated call cannot rotate a key the node no longer signs with.
    const stale = await t.operator(ANJI, '/v1/operator/keys/rotate', { currentKid: `${ANJI}:not-the-current-key` });
    expect(stale.status).toBe(409);
    expect(stale.json.code).toBe('KEY_ROTATION_CONFLICT');

    const asked = JSON.parse((await cli('keys', 'rotate', '--node', ANJI, '--federation', t.f.dir, '--overlap', String(OVERLAP_SECONDS), '--json')).stdout);
    expect(asked).toMatchObject({ current: { kid: original.kid }, rotation: { status: 'pending', overlapSeconds: OVERLAP_SECONDS } });
    next = keyIn(files().pending);
    expect(asked.pending.kid).toBe(next.kid);
    expect(statSync(files().pending).mode & 0o777).toBe(0o600);
    // Asking again re-sends the same key: a retry never makes a second key.
    const again = await t.operator(ANJI, '/v1/operator/keys/rotate', { currentKid: original.kid, overlapSeconds: OVERLAP_SECONDS });
    expect(again.json.pending.kid).toBe(next.kid);

    // The private key stays in its file: the database holds the public key only.
    const store = t.f.nodes.get(ANJI)!.runtime!.store;
    expect(JSON.stringify(await store.settings.all())).not.toContain(next.privateJwk.d);
    expect((await store.keys.list()).find((k) => k.kid === next.kid)).toMatchObject({ status: 'pending' });
    expect((await anjiAudit('key.rotation.request')).at(-1)).toMatchObject({ outcome: 'sent', detail: { from: original.kid, to: next.kid } });
    expect((await admin('GET', '/v1/directory/changes')).json.changes).toEqual([expect.objectContaining({ division: ANJI, kind: 'rotation', signingKid: next.kid })]);

    expect(await anjiAsksSandu()).toBe(original.kid);
    expect(keyIn(files().current).kid).toBe(original.kid);
  }, 60_000);

  it('after the administrator approves, the node switches without a restart; exchanges work both ways; the old key verifies only during the overlap', async () => {
    const approved = JSON.parse((await cli('directory', 'approve-change', ANJI, '--federation', t.f.dir, '--json')).stdout);
    expect(approved).toMatchObject({ kind: 'rotation', signingKid: next.kid });
    // Sandu learns the new key, then Anji sees itself published with it.
    await t.operator(SANDU, '/v1/operator/directory/refresh', {});
    await t.operator(ANJI, '/v1/operator/directory/refresh', {});

    expect(await keysStatus()).toMatchObject({ current: { kid: next.kid }, pending: null, rotation: { kid: next.kid, previousKid: original.kid, status: 'approved' } });
    expect(keyIn(files().current).kid).toBe(next.kid);
    expect(keyIn(files().previous).kid).toBe(original.kid);
    expect(existsSync(files().pending)).toBe(false);
    expect((await anjiAudit('key.rotation.switch')).at(-1)).toMatchObject({ outcome: 'allowed', detail: { from: original.kid, to: next.kid } });
    const node = (await (await fetch(new URL('/v1/node', t.f.nodes.get(ANJI)!.endpoint))).json()) as { keys: Array<{ kid: string; status: string }> };
    expect(node.keys).toEqual(expect.arrayContaining([expect.objectContaining({ kid: next.kid, status: 'active' }), expect.objectContaining({ kid: original.kid, status: 'retired' })]));

    // Requests, answers: the same running node now signs with the new key.
    expect(await anjiAsksSandu()).toBe(next.kid);
    const answered = await sanduAsksAnji();
    expect(answered.status, JSON.stringify(answered.json)).toBe(200);

    const { previousKeys } = await published(ANJI);
    const validUntil = Date.parse(previousKeys!.find((k) => k.kid === original.kid)!.validUntil);
    // During the overlap a message still signed with the old key (in flight) is accepted…
    expect((await signedBy(original)).status).toBe(200);
    expect((await signedBy(next)).status).toBe(200);
    // …after it, refused.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, validUntil - Date.now()) + 300));
    const late = await signedBy(original);
    expect(late.status).toBe(403);
    expect(late.json.code).toBe('NODE_UNKNOWN');
    expect((await signedBy(next)).status).toBe(200);
    expect(await anjiAsksSandu()).toBe(next.kid);
  }, 90_000);

  it('a restart keeps the new key; a rotation approved while the node was down is taken up at start', async () => {
    const anji = t.f.nodes.get(ANJI)!;
    await anji.stop();
    await anji.start();
    expect(await keysStatus()).toMatchObject({ current: { kid: next.kid }, pending: null });
    expect(await anjiAsksSandu()).toBe(next.kid);

    const asked = await t.operator(ANJI, '/v1/operator/keys/rotate', { currentKid: next.kid });
    expect(asked.status).toBe(200);
    const third = asked.json.pending.kid as string;
    await anji.stop();
    expect((await admin('POST', `/v1/directory/changes/${ANJI}/approve`)).json).toMatchObject({ kind: 'rotation', signingKid: third });
    await anji.start();
    expect(await keysStatus()).toMatchObject({ current: { kid: third }, pending: null, rotation: { kid: third, status: 'approved' } });
    await t.operator(SANDU, '/v1/operator/directory/refresh', {});
    expect(await anjiAsksSandu()).toBe(third);

    // The audit chain still verifies against the checkpoints the hub witnessed, signed with each key in turn.
    const verified = await cli('audit', 'verify', '--config', anji.configPath, '--json');
    expect(JSON.parse(verified.stdout)).toMatchObject({ node: ANJI, ok: true });
  }, 90_000);
}
