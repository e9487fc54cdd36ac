import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNode, openNode, type NodeRuntime } from '../src/node/index.ts';
import { listenNode } from '../src/server/index.ts';
import { freshSqliteFile } from './support/sqlite.ts';

const fixture = freshSqliteFile();
let runtime: NodeRuntime;
let handle: Awaited<ReturnType<typeof listenNode>>;

// A hub with small limits from its config: unauthenticated routes are throttled per address,
// authenticated ones are not (issue 8, item 7).
beforeAll(async () => {
  const result = await initNode({ dir: fixture.dir + '/hub', division: '100000', role: 'hub', port: 0, rateLimit: { max: 3, enrolmentMax: 2, windowSeconds: 60 } });
  runtime = await openNode(result.configPath, { env: {}, log: () => {} });
  handle = await listenNode(runtime, { port: 0 });
});
afterAll(async () => {
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
