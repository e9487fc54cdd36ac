import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNode, openNode, type NodeRuntime } from '../src/node/index.ts';
import { listenNode } from '../src/server/index.ts';
import { freshSqliteFile } from './support/sqlite.ts';

/** A node (a regional hub: it needs no other server) with the given server limits, on a real socket. */
async function startNode(dir: string, server: Record<string, number>) {
  const { configPath } = await initNode({ dir, division: '320400', role: 'hub', port: 0 });
  const file = JSON.parse(readFileSync(configPath, 'utf8')) as { server: Record<string, unknown> };
  writeFileSync(configPath, JSON.stringify({ ...file, server: { ...file.server, ...server } }, null, 2));
  const runtime: NodeRuntime = await openNode(configPath, { env: {}, log: () => {} });
  const handle = await listenNode(runtime, { port: 0 });
  const operatorToken = runtime.operatorToken;
  const account = async (id: string) => {
    const response = await fetch(new URL('/v1/operator/accounts', handle.endpoint), {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, role: 'clerk', name: id }),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { token: string }).token;
  };
  return { endpoint: handle.endpoint, close: handle.close, account };
}

const fixture = freshSqliteFile();
afterAll(() => fixture.drop());

describe('event streams per account', () => {
  let node: Awaited<ReturnType<typeof startNode>>;
  const open: AbortController[] = [];
  beforeAll(async () => {
    node = await startNode(`${fixture.dir}/streams`, { maxStreamsPerPrincipal: 2 });
  });
  afterAll(async () => {
    for (const c of open) c.abort();
    await node.close();
  });
  const stream = async (token: string) => {
    const controller = new AbortController();
    const response = await fetch(new URL('/v1/cases/events', node.endpoint), { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    if (response.status === 200) open.push(controller);
    const problem = response.status === 200 ? undefined : ((await response.json()) as unknown);
    return { response, controller, problem };
  };

  it('one account gets 429 TOO_MANY_STREAMS over its cap, other accounts still connect, and closing a stream frees its slot', async () => {
    const wang = await node.account('clerk-wang');
    const li = await node.account('clerk-li');
    const first = await stream(wang);
    const second = await stream(wang);
    expect([first.response.status, second.response.status]).toEqual([200, 200]);

    const third = await stream(wang);
    expect(third.response.status).toBe(429);
    expect(third.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(third.problem).toMatchObject({ status: 429, code: 'TOO_MANY_STREAMS' });

    const other = await stream(li);
    expect(other.response.status).toBe(200);

    first.controller.abort();
    let again: Awaited<ReturnType<typeof stream>> | undefined;
    for (let i = 0; i < 50; i++) {
      again = await stream(wang);
      if (again.response.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(again?.response.status).toBe(200);
    // And the cap holds again.
    expect((await stream(wang)).response.status).toBe(429);
  });
});

describe('connections per server', () => {
  let node: Awaited<ReturnType<typeof startNode>>;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    node = await startNode(`${fixture.dir}/connections`, { maxConnections: 4, idleTimeoutSeconds: 3 });
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await node.close();
  });
  const open = () =>
    new Promise<{ socket: Socket; closed: Promise<string> }>((resolve, reject) => {
      const { hostname, port } = new URL(node.endpoint);
      const socket = connect({ host: hostname, port: Number(port) });
      sockets.push(socket);
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      const closed = new Promise<string>((done) => socket.once('close', () => done(received)));
      socket.once('connect', () => resolve({ socket, closed }));
      socket.once('error', reject);
    });
  const ask = (socket: Socket) =>
    new Promise<string>((resolve) => {
      socket.once('data', (chunk) => resolve(chunk.toString()));
      socket.write('GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n');
    });

  it('a connection over server.maxConnections is closed unanswered while the others are served; idle connections are closed', async () => {
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await open());
    // Let the server accept the four before the fifth arrives.
    expect(await ask(held[0]!.socket)).toMatch(/^HTTP\/1\.1 200/);
    const extra = await open();
    extra.socket.write('GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n');
    expect(await Promise.race([extra.closed, new Promise((resolve) => setTimeout(() => resolve('still open'), 10_000))])).toBe('');
    expect(await ask(held[1]!.socket)).toMatch(/^HTTP\/1\.1 200/);

    // A connection that sends nothing is not kept for ever (server.idleTimeoutSeconds).
    const silent = await Promise.race([held[2]!.closed.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still open'), 15_000))]);
    expect(silent).toBe('closed');
  }, 40_000);
});
