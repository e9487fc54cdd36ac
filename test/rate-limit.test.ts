import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.ts';
import { startFront, type RunningFront } from '../src/front/front.ts';
import { initNode, openNode, type NodeRuntime } from '../src/node/index.ts';
import { listenNode } from '../src/server/index.ts';
import { freshSqliteFile } from './support/sqlite.ts';

const fixture = freshSqliteFile();
let runtime: NodeRuntime;
let handle: Awaited<ReturnType<typeof listenNode>>;
/** A second hub behind `tongban front` that believes the front's X-Forwarded-For (server.trustProxy). */
let trustingHandle: Awaited<ReturnType<typeof listenNode>>;
let trustingFront: RunningFront;
/** A third hub's front, without trustProxy, for contrast. */
let plainHandle: Awaited<ReturnType<typeof listenNode>>;
let plainFront: RunningFront;

// A hub with small limits from its config: unauthenticated routes are throttled per address,
// authenticated ones are not (issue 8, item 7).
beforeAll(async () => {
  const result = await initNode({ dir: fixture.dir + '/hub', division: '100000', role: 'hub', port: 0, rateLimit: { max: 3, enrolmentMax: 2, windowSeconds: 60 } });
  runtime = await openNode(result.configPath, { env: {}, log: () => {} });
  handle = await listenNode(runtime, { port: 0 });
  const hub = async (dir: string, trustProxy?: string[]) => {
    const result = await initNode({ dir: fixture.dir + dir, division: '100000', role: 'hub', port: 0, rateLimit: { max: 3, enrolmentMax: 2, windowSeconds: 60 } });
    if (trustProxy) {
      const config = JSON.parse(readFileSync(result.configPath, 'utf8')) as { server: Record<string, unknown> };
      config.server.trustProxy = trustProxy;
      writeFileSync(result.configPath, JSON.stringify(config));
    }
    const opened = await openNode(result.configPath, { env: {}, log: () => {} });
    return { handle: await listenNode(opened, { port: 0 }) };
  };
  ({ handle: trustingHandle } = await hub('/hub2', ['127.0.0.1']));
  trustingFront = await startFront({ backends: [trustingHandle.endpoint], port: 0 });
  ({ handle: plainHandle } = await hub('/hub3'));
  plainFront = await startFront({ backends: [plainHandle.endpoint], port: 0 });
});
afterAll(async () => {
  await trustingFront.close();
  await plainFront.close();
  await trustingHandle.close();
  await plainHandle.close();
  await handle.close();
  await fixture.drop();
});

describe('rate limits on unauthenticated routes', () => {
  it('public look-ups and the snapshot: RATE_LIMITED (429 problem+json, retry-after) past `max` per window', async () => {
    for (const path of ['/v1/divisions/522732', '/v1/directory/snapshot']) {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 4; i++) {
        last = await fetch(handle.endpoint + path);
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(last!.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(last!.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await last!.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    }
  });

  it("the hub's sign-in (everything under /oidc: its pages, password form, token endpoint) is limited per address too: a password spray from one address stops at `max`", async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await fetch(handle.endpoint + (i % 2 === 0 ? '/oidc/.well-known/openid-configuration' : '/oidc/interaction/made-up-uid'), i % 2 === 0 ? {} : { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'login=a&password=b' });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 400, 200, 429]);
    expect(last!.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await last!.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  });

  it('enrolments have their own, smaller limit; they are refused before any work', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(handle.endpoint + '/v1/directory/enrolments', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      statuses.push(r.status);
    }
    expect(statuses).toEqual([401, 401, 429]);
  });

  it('authenticated calls (the administrator) are not counted', async () => {
    const token = runtime.adminToken!;
    for (let i = 0; i < 8; i++) {
      const r = await fetch(handle.endpoint + '/v1/directory/nodes', { headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(200);
    }
  });
});

describe('behind a front (server.trustProxy)', () => {
  // Clients on distinct loopback addresses (Linux routes all of 127/8 to lo).
  const from = (address: string) => new Agent({ localAddress: address });
  const statuses = async (base: string, address: string, n: number, headers: Record<string, string> = {}) => {
    const dispatcher = from(address);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = await request(new URL('/v1/divisions/522732', base), { dispatcher, headers });
      await r.body.dump();
      out.push(r.statusCode);
    }
    await dispatcher.close();
    return out;
  };

  it('a trusted front: each client counts under its own address, as the front saw it', async () => {
    expect(await statuses(trustingFront.endpoint, '127.0.0.2', 4)).toEqual([200, 200, 200, 429]);
    // Another client through the same front has its own count …
    expect(await statuses(trustingFront.endpoint, '127.0.0.3', 3)).toEqual([200, 200, 200]);
    // … and one that names somebody else in X-Forwarded-For gains nothing: the front overwrites it.
    expect(await statuses(trustingFront.endpoint, '127.0.0.2', 1, { 'x-forwarded-for': '198.51.100.7' })).toEqual([429]);
  });

  it('without trustProxy every client behind the front is the front: one count for all', async () => {
    expect(await statuses(plainFront.endpoint, '127.0.0.4', 3)).toEqual([200, 200, 200]);
    expect(await statuses(plainFront.endpoint, '127.0.0.5', 1)).toEqual([429]);
  });

  it('a caller that is not a trusted front is not believed: its X-Forwarded-For is ignored', async () => {
    const forged = (i: number) => ({ 'x-forwarded-for': `203.0.113.${i}` });
    const out: number[] = [];
    for (let i = 0; i < 4; i++) out.push(...(await statuses(trustingHandle.endpoint, '127.0.0.6', 1, forged(i))));
    expect(out).toEqual([200, 200, 200, 429]);
  });
});

it('config: server.trustProxy takes addresses and ranges no wider than /8 or /32; TONGBAN_TRUST_PROXY overrides it', () => {
  const path = fixture.dir + '/trust-proxy.json';
  const write = (trustProxy?: unknown) => {
    writeFileSync(path, JSON.stringify({ node: { division: '522732', name: 'Sandu', role: 'node' }, hub: { url: 'http://127.0.0.1:1', kid: 'k', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } }, server: trustProxy === undefined ? {} : { trustProxy }, database: { url: 'sqlite:x.sqlite' }, keys: { algorithm: 'Ed25519', file: 'keys/k.json' } }));
    return path;
  };
  expect(loadConfig(write(), {}).server.trustProxy).toEqual([]);
  expect(loadConfig(write(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/48']), {}).server.trustProxy).toEqual(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/48']);
  for (const wide of [['0.0.0.0/0'], ['::/0'], ['10.0.0.0/7'], ['front.example']]) expect(() => loadConfig(write(wide), {}), JSON.stringify(wide)).toThrow(/trustProxy|invalid/);
  expect(loadConfig(write(['10.1.2.3']), { TONGBAN_TRUST_PROXY: '127.0.0.1, ::1' }).server.trustProxy).toEqual(['127.0.0.1', '::1']);
  expect(() => loadConfig(write(), { TONGBAN_TRUST_PROXY: '0.0.0.0/0' })).toThrow(/TONGBAN_TRUST_PROXY is invalid: a trusted proxy range may be no wider/);
});
