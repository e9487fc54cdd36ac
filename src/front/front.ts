import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toProblem, type ErrorCode } from '../errors/index.ts';

export interface FrontOptions {
  /** The replicas, as http://host:port (each a `tongban serve` of one node config). */
  readonly backends: readonly string[];
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Largest request body forwarded, in bytes (a request is held until a replica takes it). */
  readonly bodyLimit?: number;
  /** How long a replica that refused a connection is passed over (ms, default 1000). */
  readonly downMs?: number;
  readonly log?: (message: string) => void;
}

export interface RunningFront {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1): they concern one connection, never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

/** Errors that show the request never reached the replica: sending it to another is safe. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/**
 * A round-robin front for several replicas of one node (or of the hub): every request goes to the
 * next replica in turn. A replica that refuses the connection (stopped, killed, restarting) is
 * passed over for `downMs` and the request goes to the next one, so a dead replica costs no request
 * that had not reached it. A request a replica took and then did not answer (it died meanwhile) is
 * not sent again — it may have been carried out — and is answered 502 FRONT_REPLICA_FAILED; with
 * no replica accepting connections, 503 FRONT_NO_REPLICA.
 *
 * It forwards the request as it came (method, path, headers, body): the replicas verify RFC 9421
 * signatures against the node's `server.publicUrl`, which names this front. Responses stream
 * through (Server-Sent Events included).
 */
export async function startFront(options: FrontOptions): Promise<RunningFront> {
  if (options.backends.length === 0) throw new Error('a front needs at least one backend');
  const backends = options.backends.map((b) => {
    const url = new URL(b);
    if (url.protocol !== 'http:') throw new Error(`backend ${b}: only http:// replicas are supported`);
    return { url, downUntil: 0 };
  });
  // A replica takes 1 MiB at most (server.bodyLimit): the front holds no more than that per request before any replica has authenticated it.
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const downMs = options.downMs ?? 1000;
  const log = options.log ?? (() => {});
  // Idle connections to replicas are closed after 4 s, before a replica's own keep-alive timeout
  // (server.keepAliveTimeoutSeconds, 5 s by default) closes them: a request is then never sent on a
  // connection the replica is closing, which would fail like a replica dying with it.
  const agent = new Agent({ keepAlive: true, timeout: 4_000 });
  let next = 0;

  const problem = (response: ServerResponse, code: ErrorCode, detail: string) => {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    const answer = toProblem(code, detail);
    const body = JSON.stringify(answer);
    response.writeHead(answer.status, { 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  };

  const forwardHeaders = (headers: IncomingHttpHeaders, remote: string | undefined): IncomingHttpHeaders => {
    const out: IncomingHttpHeaders = {};
    const named = new Set((headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()));
    // What the front saw, never what the client claimed: a client's own Forwarded and X-Forwarded-*
    // headers (For, Host, Proto, Port, Prefix, …) are dropped, and X-Forwarded-For is the front's.
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || name === 'forwarded' || name.startsWith('x-forwarded-')) continue;
      out[name] = value;
    }
    if (remote) out['x-forwarded-for'] = remote;
    return out;
  };

  /** Replicas in turn from `start`, those passed over (refused a connection lately) last. */
  const candidates = (start: number): typeof backends => {
    const now = Date.now();
    const ordered = backends.map((_, k) => backends[(start + k) % backends.length]!);
    return [...ordered.filter((b) => b.downUntil <= now), ...ordered.filter((b) => b.downUntil > now)];
  };

  /** Sends the request to the first candidate; one that refuses the connection passes it to the next. */
  const attempt = (incoming: IncomingMessage, response: ServerResponse, body: Buffer, queue: typeof backends): void => {
    const [backend, ...rest] = queue;
    if (!backend) return problem(response, 'FRONT_NO_REPLICA', 'No replica of this node accepts connections; retry later.');
    const headers = forwardHeaders(incoming.headers, incoming.socket.remoteAddress);
    if (body.length > 0 || incoming.headers['content-length'] !== undefined) headers['content-length'] = String(body.length);
    const outgoing = httpRequest({ agent, host: backend.url.hostname, port: backend.url.port, method: incoming.method, path: incoming.url, headers });
    outgoing.on('response', (answer) => {
      backend.downUntil = 0;
      const answerHeaders: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) answerHeaders[name] = value;
      response.writeHead(answer.statusCode ?? 502, answerHeaders);
      answer.pipe(response);
      answer.on('error', () => response.destroy());
      // The client went away (an event stream closed): stop reading from the replica too.
      response.on('close', () => answer.destroy());
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      if (NOT_CONNECTED.has(error.code ?? '')) {
        backend.downUntil = Date.now() + downMs;
        return attempt(incoming, response, body, rest);
      }
      log(`front: ${backend.url.origin} failed during ${incoming.method} ${incoming.url}: ${error.code ?? error.message}`);
      problem(response, 'FRONT_REPLICA_FAILED', 'The replica that took the request failed before answering; it may or may not have been carried out.');
    });
    outgoing.end(body);
  };

  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    incoming.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > bodyLimit) {
        if (!refused) problem(response, 'PAYLOAD_TOO_LARGE', `The request body exceeds ${bodyLimit} bytes.`);
        refused = true;
        // The rest of the upload is read and dropped (bounded by requestTimeout), so the answer reaches the client.
        return;
      }
      chunks.push(chunk);
    });
    incoming.on('end', () => {
      if (refused) return;
      const start = next;
      next = (next + 1) % backends.length;
      attempt(incoming, response, Buffer.concat(chunks), candidates(start));
    });
    incoming.on('error', () => response.destroy());
  });
  // Slow clients hold no socket for ever: headers within 10 s, the whole request within 60 s.
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  server.maxHeadersCount = 100;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    endpoint: `http://${host}:${address.port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 2000);
      await closed;
      clearTimeout(force);
      agent.destroy();
    },
  };
}
