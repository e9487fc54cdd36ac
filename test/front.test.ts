import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startFront, type RunningFront } from '../src/front/front.ts';

/** A replica stand-in: answers with its name, what it received, and counts the requests it took. */
interface Backend {
  readonly name: string;
  readonly url: string;
  readonly server: Server;
  taken: number;
  close(): Promise<void>;
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close().catch(() => {})));
});

async function backend(name: string, handle?: (request: IncomingMessage, body: string, respond: (status: number, value: unknown) => void, raw: ServerResponse) => void, port = 0): Promise<Backend> {
  const b = { name, taken: 0 } as Backend & { taken: number };
  const server = createServer((request, response) => {
    b.taken++;
    let body = '';
    request.on('data', (d: Buffer) => (body += d.toString()));
    request.on('end', () => {
      const respond = (status: number, value: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(value));
      };
      if (handle) return handle(request, body, respond, response);
      respond(200, { name, method: request.method, url: request.url, body, headers: request.headers });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  Object.assign(b, { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close });
  open.push(b);
  return b;
}

async function front(backends: readonly Backend[]): Promise<RunningFront> {
  const f = await startFront({ backends: backends.map((b) => b.url), port: 0 });
  open.push(f);
  return f;
}

const call = async (f: RunningFront, path = '/x', init: RequestInit = {}) => {
  const response = await fetch(new URL(path, f.endpoint), init);
  return { status: response.status, type: response.headers.get('content-type') ?? '', json: (await response.json()) as Record<string, unknown> };
};

/** node:http, not fetch: fetch refuses to send a Connection header. */
const post = (f: RunningFront, path: string, body: string, headers: Record<string, string>) =>
  new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    const r = httpRequest(new URL(path, f.endpoint), { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (response) => {
      let text = '';
      response.on('data', (d: Buffer) => (text += d.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    r.on('error', reject);
    r.end(body);
  });

describe('tongban front', () => {
  it('sends requests to the replicas in turn, unchanged: method, path, query, body and end-to-end headers; hop-by-hop ones stay behind', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const f = await front([a, b]);
    const names: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await post(f, `/v1/cases/c${i}?version=3`, `{"n":${i}}`, { 'content-type': 'application/json', signature: 'sig1=:abc:', 'x-custom': 'kept', connection: 'keep-alive, x-custom', 'x-forwarded-for': '203.0.113.66', forwarded: 'for=203.0.113.66', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ method: 'POST', url: `/v1/cases/c${i}?version=3`, body: `{"n":${i}}` });
      const headers = r.json.headers as Record<string, string>;
      expect(headers.signature).toBe('sig1=:abc:');
      expect(headers['content-type']).toBe('application/json');
      // The address the front saw, not the one the client claimed.
      expect(headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(headers.forwarded).toBeUndefined();
      expect(headers['x-forwarded-proto']).toBeUndefined();
      expect(headers['x-forwarded-host']).toBeUndefined();
      // Named in Connection: a header for this hop only.
      expect(headers['x-custom']).toBeUndefined();
      names.push(r.json.name);
    }
    expect(names).toEqual(['a', 'b', 'a', 'b']);
  });

  it('passes over a replica that refuses connections: no request is lost while it is down, and it gets its turn again once back', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const f = await front([a, b]);
    const port = Number(new URL(b.url).port);
    await b.close();
    const answers = await Promise.all(Array.from({ length: 6 }, () => call(f)));
    expect(answers.map((r) => [r.status, r.json.name])).toEqual(Array.from({ length: 6 }, () => [200, 'a']));
    // Back on the same port: after the pause (1 s) it is tried again.
    await backend('b again', undefined, port);
    let sawB = false;
    for (let i = 0; i < 40 && !sawB; i++) {
      sawB = (await call(f)).json.name === 'b again';
      if (!sawB) await new Promise((r) => setTimeout(r, 100));
    }
    expect(sawB).toBe(true);
  });

  it('no replica accepting connections: 503 FRONT_NO_REPLICA as problem+json', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const f = await front([a, b]);
    await a.close();
    await b.close();
    const r = await call(f);
    expect(r.status).toBe(503);
    expect(r.type).toMatch(/^application\/problem\+json/);
    expect(r.json).toMatchObject({ status: 503, code: 'FRONT_NO_REPLICA' });
  });

  it('a replica that took a request and died before answering: 502 FRONT_REPLICA_FAILED, and the request is not sent to another', async () => {
    const dying = await backend('dying', (request) => request.socket.destroy());
    const other = await backend('other');
    const f = await front([dying, other]);
    const r = await call(f, '/x', { method: 'POST', body: '{}' });
    expect(r.status).toBe(502);
    expect(r.json).toMatchObject({ code: 'FRONT_REPLICA_FAILED' });
    expect([dying.taken, other.taken]).toEqual([1, 0]);
  });

  it('streams an answer as it comes (an event stream is not held until it ends)', async () => {
    let finish: () => void = () => {};
    const events = await backend('events', (_request, _body, _respond, raw) => {
      raw.writeHead(200, { 'content-type': 'text/event-stream' });
      raw.write(': connected\n\n');
      finish = () => raw.end('event: case\ndata: {}\n\n');
    });
    const f = await front([events]);
    const response = await fetch(new URL('/v1/cases/events', f.endpoint));
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    // The first chunk arrives while the replica still holds the stream open.
    expect((await reader.read()).value).toBe(': connected\n\n');
    finish();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += chunk.value;
    expect(rest).toBe('event: case\ndata: {}\n\n');
  });

  it('the command refuses a front without replicas, or a replica that is not an http:// URL, in one sentence', async () => {
    const bin = new URL('../bin/tongban.js', import.meta.url).pathname;
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, [bin, 'front', ...args]).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr.trim() }),
      );
    expect(await run(['--port', '0'])).toEqual({ code: 2, stderr: "tongban: required option '--backend <url>' not specified" });
    expect(await run(['--port', '0', '--backend', 'ftp://127.0.0.1:1'])).toEqual({ code: 2, stderr: 'tongban: --backend ftp://127.0.0.1:1: an http://host:port URL of a replica is expected.' });
  });

  it('refuses a body larger than a replica takes (1 MiB by default) with 413 problem+json, before any replica sees it', async () => {
    const a = await backend('a');
    const f = await front([a]);
    const r = await post(f, '/v1/cases', 'x'.repeat(1024 * 1024 + 1), { 'content-type': 'application/json' });
    expect([r.status, r.json.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const ok = await post(f, '/v1/cases', 'x'.repeat(1024), { 'content-type': 'application/json' });
    expect(ok.status).toBe(200);
  });
});
