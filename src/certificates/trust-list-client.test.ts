import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEncryptionKey, generateSigningKey, type SigningKey } from '../crypto/index.ts';
import { DirectoryView } from '../directory/index.ts';
import { signTrustList, TrustListClient, type TrustList } from './index.ts';

const HUB = '100000';

/**
 * The node's trust list client against a real HTTP server standing in for the hub: it takes only a
 * list signed with the key the verified directory gives the hub, keeps the last good one when the
 * hub fails or lies, never goes back to an older version, and fetches again once the list is due.
 */
describe('TrustListClient', () => {
  let server: Server;
  let url: string;
  let hubKey: SigningKey;
  let stranger: SigningKey;
  let view: DirectoryView;
  /** What the stand-in hub answers next. */
  let answer: { status: number; body: string } = { status: 503, body: '' };
  let fetches = 0;
  let now = new Date('2026-12-01T08:00:00Z');

  const list = (version: number, overrides: Partial<TrustList> = {}): TrustList => ({
    issuer: HUB,
    version,
    issuedAt: now.toISOString(),
    nextUpdate: new Date(now.getTime() + 3600_000).toISOString(),
    issuers: [],
    ...overrides,
  });
  const serve = async (trustList: TrustList, key: SigningKey = hubKey) => {
    answer = { status: 200, body: await signTrustList(trustList, key) };
  };
  const client = (options: { maxAgeSeconds?: number } = {}) => new TrustListClient({ hubUrl: url, directory: { current: async () => view }, clock: () => now, timeoutMs: 2000, ...options });

  beforeAll(async () => {
    hubKey = await generateSigningKey('Ed25519', HUB);
    stranger = await generateSigningKey('Ed25519', HUB);
    const encryption = await generateEncryptionKey(HUB);
    server = createServer((request, response) => {
      fetches++;
      expect(request.url).toBe('/v1/certificates/trust-list');
      response.writeHead(answer.status, { 'content-type': 'application/jwt' });
      response.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    view = await DirectoryView.of({
      issuer: HUB,
      version: 1,
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 86_400_000).toISOString(),
      nodes: [{ division: HUB, name: '国家政务服务平台', role: 'hub', endpoint: url, signingKey: { kid: hubKey.kid, jwk: hubKey.publicJwk }, encryptionKey: { kid: encryption.kid, jwk: encryption.publicJwk }, services: [] }],
      agreements: [],
    });
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('has nothing before a first good fetch: TRUST_LIST_UNAVAILABLE, or TRUST_LIST_INVALID for a list another key signed', async () => {
    answer = { status: 503, body: '' };
    await expect(client().current()).rejects.toMatchObject({ code: 'TRUST_LIST_UNAVAILABLE' });
    await serve(list(3), stranger);
    await expect(client().current()).rejects.toMatchObject({ code: 'TRUST_LIST_INVALID' });
    answer = { status: 200, body: 'not a jws' };
    await expect(client().current()).rejects.toMatchObject({ code: 'TRUST_LIST_INVALID' });
    await serve(list(3, { issuer: '110000' }));
    await expect(client().current()).rejects.toMatchObject({ code: 'TRUST_LIST_INVALID' });
  });

  it('keeps the last good list when the hub fails or lies, refuses an older version, and fetches again when the list is due', async () => {
    const c = client();
    await serve(list(5));
    expect((await c.current()).version).toBe(5);
    // Within its life the held list serves without asking the hub.
    const asked = fetches;
    await serve(list(6));
    now = new Date(now.getTime() + 60_000);
    expect((await c.current()).version).toBe(5);
    expect(fetches).toBe(asked);
    // refresh() asks now.
    expect((await c.refresh()).version).toBe(6);
    // An older version (a replayed list) is refused; the held one stays.
    await serve(list(4));
    await expect(c.refresh()).rejects.toMatchObject({ code: 'TRUST_LIST_INVALID' });
    expect((await c.current()).version).toBe(6);
    // Past its nextUpdate with the hub down: the held list serves on (the failure is retried after a pause).
    answer = { status: 503, body: '' };
    now = new Date(now.getTime() + 2 * 3600_000);
    expect((await c.current()).version).toBe(6);
    // A day past it, nothing does.
    now = new Date(now.getTime() + 25 * 3600_000);
    await expect(c.current()).rejects.toMatchObject({ code: 'TRUST_LIST_UNAVAILABLE' });
    await serve(list(7));
    expect((await c.current()).version).toBe(7);
  });

  it('with maxAgeSeconds, fetches again once that old, before nextUpdate', async () => {
    const c = client({ maxAgeSeconds: 30 });
    await serve(list(8));
    expect((await c.current()).version).toBe(8);
    await serve(list(9));
    now = new Date(now.getTime() + 10_000);
    expect((await c.current()).version).toBe(8);
    now = new Date(now.getTime() + 25_000);
    expect((await c.current()).version).toBe(9);
    expect(c.status()).toMatchObject({ version: 9, fetchedAt: now.toISOString() });
  });
});
