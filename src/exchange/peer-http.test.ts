import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerTimeoutError, peerCall } from './peer-http.ts';

describe('peerCall', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/silent') return; // never answers
      res.writeHead(200, { 'content-type': 'text/plain', 'x-twice': ['a', 'b'] });
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('returns the whole answer and leaves no timer behind', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await peerCall(`${base}/warm`, { timeoutMs: 60_000 });
    const before = timers();
    const answers = await Promise.all(Array.from({ length: 20 }, () => peerCall(`${base}/ok`, { timeoutMs: 60_000 })));
    expect(answers.every((a) => a.status === 200 && new TextDecoder().decode(a.body) === 'ok')).toBe(true);
    expect(answers[0]!.headers['x-twice']).toBe('a, b');
    // A deadline per call that outlived the call would show here as 20 pending timers.
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('gives up on a peer that does not answer within its time limit', async () => {
    const t0 = Date.now();
    const error = await peerCall(`${base}/silent`, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PeerTimeoutError);
    expect((error as Error).message).toBe(`no answer from ${base} within 300 ms`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });
});
