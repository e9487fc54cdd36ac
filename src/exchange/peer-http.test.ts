import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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

  it('returns the whole answer and clears its deadline', async () => {
    // Each call's deadline is a timer of its own (60 s here, a value nothing else uses), cleared
    // once the answer is in: `AbortSignal.timeout` would fire 60 s later for every call instead.
    const started = vi.spyOn(globalThis, 'setTimeout');
    const cleared = vi.spyOn(globalThis, 'clearTimeout');
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, () => peerCall(`${base}/ok`, { timeoutMs: 61_234 })));
      expect(answers.every((a) => a.status === 200 && new TextDecoder().decode(a.body) === 'ok')).toBe(true);
      expect(answers[0]!.headers['x-twice']).toBe('a, b');
      const deadlines = started.mock.calls.flatMap((call, i) => (call[1] === 61_234 ? [started.mock.results[i]!.value as unknown] : []));
      expect(deadlines).toHaveLength(20);
      const clearedTimers = new Set(cleared.mock.calls.map((call) => call[0] as unknown));
      expect(deadlines.every((timer) => clearedTimers.has(timer))).toBe(true);
    } finally {
      started.mockRestore();
      cleared.mockRestore();
    }
  });

  it('gives up on a peer that does not answer within its time limit', async () => {
    const t0 = Date.now();
    const error = await peerCall(`${base}/silent`, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PeerTimeoutError);
    expect((error as Error).message).toBe(`no answer from ${base} within 300 ms`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });
});
