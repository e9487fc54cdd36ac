import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleSubjects } from '../../src/demo/registries.ts';
import type { RunningFederation } from '../../src/federation/index.ts';
import { json, processFederation, sleep } from './support.ts';

let f: RunningFederation;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ f, cleanup } = await processFederation());
}, 120_000);
afterAll(async () => {
  await cleanup?.();
});

describe('hub down (separate processes, kill -9)', () => {
  it('bridges go on; hub mode fails fast with a clear code; recovery needs no manual step', async () => {
    const subject = sampleSubjects(f.registryPath('522732'), 1).people[0]!.idNumber;
    const ask = (from: string) =>
      json(new URL('/v1/operator/exchange', f.nodes.get(from)!.endpoint).toString(), {
        method: 'POST',
        token: f.operatorToken(from),
        body: JSON.stringify({ provider: '522732', service: 'household.residence-proof', subject: { type: 'idNumber', value: subject }, purpose: '户籍类证明开具', fields: ['name'] }),
      });
    expect((await ask('310118')).status).toBe(200);
    await f.hub.kill();

    for (let i = 0; i < 5; i++) expect((await ask('330523')).status).toBe(200);
    const started = Date.now();
    const viaHub = await ask('310118');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(viaHub).toMatchObject({ status: 503, json: { code: 'HUB_UNREACHABLE' } });
    expect(viaHub.type).toMatch(/problem\+json/);

    await f.hub.start();
    let recovered = false;
    for (let i = 0; i < 60 && !recovered; i++) {
      recovered = (await ask('310118')).status === 200;
      if (!recovered) await sleep(250);
    }
    expect(recovered).toBe(true);
  }, 120_000);
});
