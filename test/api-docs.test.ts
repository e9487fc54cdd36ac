import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNode, openNode, type NodeRuntime } from '../src/node/index.ts';
import { listenNode } from '../src/server/index.ts';
import { freshSqliteFile } from './support/sqlite.ts';

const fixture = freshSqliteFile();
let runtime: NodeRuntime;
let close: () => Promise<void>;
let endpoint: string;

beforeAll(async () => {
  const result = await initNode({ dir: fixture.dir + '/node', division: '320400', role: 'hub', port: 0 });
  runtime = await openNode(result.configPath, { env: {}, log: () => {} });
  ({ close, endpoint } = await listenNode(runtime, { port: 0 }));
});
afterAll(async () => {
  await close();
  await fixture.drop();
});

describe('API reference at /docs', () => {
  it('serves an HTML page whose scripts and styles all come from this server, and they load', async () => {
    const page = await fetch(endpoint + '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('Tongban hub 320400');
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    // No CDN: every asset is a path on this server, so the page works without network access.
    for (const asset of assets) expect(asset, asset).toMatch(/^\/docs\//);
    for (const asset of assets) {
      const r = await fetch(new URL(asset, endpoint));
      expect({ asset, status: r.status }).toEqual({ asset, status: 200 });
      const body = await r.text();
      if (asset.endsWith('.js')) expect(body.length).toBeGreaterThan(100);
    }
  });

  it('the page reads the same OpenAPI document as /openapi.json, and asks no outside validator', async () => {
    const init = await (await fetch(endpoint + '/docs/static/swagger-initializer.js')).text();
    expect(init).toContain("resolveUrl('./json')");
    expect(init).toMatch(/validatorUrl: null/);
    const ui = await (await fetch(endpoint + '/docs/json')).json();
    const openapi = (await (await fetch(endpoint + '/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(ui).toEqual(openapi);
    expect(Object.keys(openapi.paths)).toContain('/v1/cases');
    // The reference pages are not API operations of their own.
    expect(Object.keys(openapi.paths).some((p) => p.startsWith('/docs'))).toBe(false);
  });
});
