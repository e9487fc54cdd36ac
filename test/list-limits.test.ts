import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestFederation, type TestFederation } from './support/federation.ts';

// Every list endpoint answers a page with a maximum size, never everything (issue 8, item 9).
// Checkpoints, incidents, cases, audit entries, the outbox and threads have their own tests;
// these are the lists that are small today but must not grow without a bound.
describe('list endpoints answer bounded pages', () => {
  let t: TestFederation;
  beforeAll(async () => {
    t = await startTestFederation('sqlite');
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
  });

  const get = async (division: string, path: string, token?: string) => {
    const endpoint = division === '100000' ? t.f.hub.endpoint : t.f.nodes.get(division)!.endpoint;
    const response = await fetch(new URL(path, endpoint), token ? { headers: { authorization: `Bearer ${token}` } } : {});
    return { status: response.status, json: (await response.json()) as any };
  };

  it('the catalogue: pages with a true total; more than 500 at once is refused', async () => {
    const all = await get('522732', '/v1/catalog/items');
    expect(all.json.total).toBeGreaterThanOrEqual(44);
    const page = await get('522732', '/v1/catalog/items?limit=5&offset=5');
    expect(page.json.items.map((i: any) => i.code)).toEqual(all.json.items.slice(5, 10).map((i: any) => i.code));
    expect(page.json.total).toBe(all.json.total);
    expect((await get('522732', '/v1/catalog/items?limit=501')).json.code).toBe('VALIDATION_FAILED');
  });

  it('the agreements a node relies on (operator or data administrator): pages with a true total; more than 200 at once is refused', async () => {
    const operator = t.f.operatorToken('522732');
    const all = await get('522732', '/v1/operator/agreements', operator);
    expect(all.json.total).toBeGreaterThanOrEqual(2);
    const page = await get('522732', '/v1/operator/agreements?limit=1&offset=1', operator);
    expect([page.json.agreements.map((a: any) => a.terms.id), page.json.total]).toEqual([[all.json.agreements[1].terms.id], all.json.total]);
    expect((await get('522732', '/v1/operator/agreements?limit=201', operator)).json.code).toBe('VALIDATION_FAILED');
  });

  it('the directory and its change requests (administrator): pages with a true total; more than 1000 at once is refused', async () => {
    const admin = t.f.adminToken();
    const page = await get('100000', '/v1/directory/nodes?limit=2&offset=1', admin);
    expect([page.json.nodes.length, page.json.total]).toEqual([2, 4]);
    const all = await get('100000', '/v1/directory/nodes', admin);
    expect(page.json.nodes.map((n: any) => n.division)).toEqual(all.json.nodes.slice(1, 3).map((n: any) => n.division));
    expect((await get('100000', '/v1/directory/nodes?limit=1001', admin)).json.code).toBe('VALIDATION_FAILED');
    expect((await get('100000', '/v1/directory/changes?limit=1001', admin)).json.code).toBe('VALIDATION_FAILED');
    expect((await get('100000', '/v1/directory/changes', admin)).json).toEqual({ changes: [], total: 0 });
  });
});
