import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import pg from 'pg';
import { loadConfig } from '../../src/config/index.ts';
import { generateSigningKey, signingKeyFromJwk, type SigningKey } from '../../src/crypto/index.ts';
import { signSnapshot, type DirectorySnapshot } from '../../src/directory/index.ts';
import { signedRequestHeaders } from '../../src/exchange/index.ts';
import { seedFederation, SimulatedClock, workingDays } from '../../src/demo/seed.ts';
import type { SeedStamp } from '../../src/demo/stamp.ts';
import { DEMO_PASSWORD, demoFederation, startFederation, type FederationConfigInput, type RunningFederation } from '../../src/federation/index.ts';
import { postgresUrl } from './postgres.ts';
import { freePortRun } from '../free-ports.ts';

export type Backend = 'sqlite' | 'postgres';

export interface TestFederation {
  readonly f: RunningFederation;
  readonly backend: Backend;
  readonly logs: string[];
  readonly schemaPrefix: string | undefined;
  /** Where the servers' log lines went (test-results/server-logs/…). */
  readonly logFile: string;
  /** With `seedDemo`: what the demo seed did (its counts read back from the APIs, its failures). */
  readonly seed?: Omit<SeedStamp, 'seconds'>;
  /** The node's own signing key, read from its key file, to craft raw requests. */
  key(division: string): SigningKey;
  /** POST to a node's operator API. */
  operator(division: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** A signed node-to-node request with knobs for tampering. */
  raw(options: RawOptions): Promise<{ status: number; json: any; headers: Headers; text: string; request: { url: string; headers: Record<string, string>; body: string } }>;
  auditEntries(division: string): Promise<any[]>;
  stop(): Promise<void>;
}

export interface RawOptions {
  readonly from: string;
  readonly to: string;
  readonly body: unknown;
  readonly path?: string;
  readonly key?: SigningKey;
  readonly clock?: () => Date;
  /** Sign and send this text as the body instead of JSON of `body`. */
  readonly bodyText?: string;
  /** Send these bytes instead of the signed ones. */
  readonly sendBody?: string;
  readonly replayOf?: { url: string; headers: Record<string, string>; body: string };
}

const SMALL = [
  { division: '522732', people: 150, businesses: 20 },
  { division: '330523', people: 150, businesses: 20 },
  { division: '320400', people: 150, businesses: 20, algorithm: 'SM2' as const },
  { division: '310118', people: 150, businesses: 20 },
];

export interface TestFederationOptions {
  readonly logLevel?: 'info' | 'warn';
  /**
   * Seed it as `npm start` seeds the demo (src/demo), smaller: `cases` cases over `days` working days
   * (default 14), on a simulated clock that reaches the present before this returns. Enrols the
   * demo's people (password DEMO_PASSWORD).
   */
  readonly seedDemo?: { readonly cases: number; readonly days?: number };
  /** Every server's clock (not with seedDemo, which brings its own). */
  readonly clock?: () => Date;
}

export async function startTestFederation(backend: Backend, overrides: Partial<FederationConfigInput> = {}, options: TestFederationOptions = {}): Promise<TestFederation> {
  const dir = mkdtempSync(join(tmpdir(), 'tongban-fed-'));
  const logs: string[] = [];
  // The servers' log lines go to a file per test file, not into the runner's output.
  const logFile = serverLogFile(backend);
  const logStream = createWriteStream(logFile, { flags: 'w' });
  const schemaPrefix = backend === 'postgres' ? 'f' + randomBytes(4).toString('hex') : undefined;
  const days = options.seedDemo?.days ?? 14;
  const clock = options.seedDemo ? new SimulatedClock(new Date(Date.parse(`${workingDays(new Date(), days)[0]}T08:00:00+08:00`) - 3 * 86_400_000)) : undefined;
  const f = await startFederation(
    demoFederation({
      dir,
      // Fixed ports below the ephemeral range: a server a test stops keeps its port for its restart.
      portBase: await freePortRun(SMALL.length + 1),
      nodes: SMALL,
      // A seeded federation's clock jumps by hours: its snapshots last an hour, as the demo's do.
      directory: { refreshSeconds: 0.5, snapshotTtlSeconds: options.seedDemo ? 3600 : 6 },
      audit: { checkpointSeconds: 0.5 },
      // Tests send far more unauthenticated requests from one address than any real node.
      rateLimit: { max: 1_000_000, enrolmentMax: 1_000_000 },
      // Scrypt hashes cost start-up time: tests that need the demo's people ask for them.
      demoPeople: options.seedDemo ? { password: DEMO_PASSWORD } : undefined,
      ...(backend === 'postgres' ? { databaseUrl: postgresUrl!, schemaPrefix: schemaPrefix! } : {}),
      ...overrides,
    }),
    {
      mode: 'in-process',
      log: (m) => {
        logs.push(m);
        logStream.write(m + '\n');
      },
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
      ...(clock ? { clock: clock.now } : options.clock ? { clock: options.clock } : {}),
    },
  );
  let seed: Omit<SeedStamp, 'seconds'> | undefined;
  if (options.seedDemo && clock) {
    try {
      seed = await seedFederation(f, clock, { cases: options.seedDemo.cases, days });
    } catch (error) {
      await f.stop();
      throw error;
    }
  }
  const keys = new Map<string, SigningKey>();
  const key = (division: string) => {
    let k = keys.get(division);
    if (!k) {
      const server = division === f.config.hub.division ? f.hub : f.nodes.get(division)!;
      const config = loadConfig(server.configPath, {});
      k = signingKeyFromJwk(division, (JSON.parse(readFileSync(config.keyFile, 'utf8')) as { privateJwk: unknown }).privateJwk);
      keys.set(division, k);
    }
    return k;
  };
  const endpointOf = (division: string) => (division === f.config.hub.division ? f.hub.endpoint : f.nodes.get(division)!.endpoint);
  const t: TestFederation = {
    f,
    backend,
    ...(seed ? { seed } : {}),
    logs,
    schemaPrefix,
    key,
    async operator(division, path, body) {
      const response = await fetch(new URL(path, endpointOf(division)), {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${f.operatorToken(division)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: await response.json() };
    },
    async raw(options) {
      let request = options.replayOf;
      if (!request) {
        const url = new URL(options.path ?? '/v1/exchange', endpointOf(options.to)).toString();
        const body = options.bodyText ?? JSON.stringify(options.body);
        const headers = await signedRequestHeaders(options.key ?? key(options.from), url, body, (options.clock ?? (() => new Date()))());
        request = { url, headers, body };
      }
      const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: options.sendBody ?? request.body });
      const text = await response.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = { unparsable: text };
      }
      return { status: response.status, json, headers: response.headers, text, request };
    },
    async auditEntries(division) {
      const all: any[] = [];
      for (let from = 1; ; ) {
        const { json } = await t.operator(division, `/v1/operator/audit?from=${from}&limit=1000`);
        if (json.entries.length === 0) return all;
        all.push(...json.entries);
        from = json.entries[json.entries.length - 1].seq + 1;
      }
    },
    logFile,
    async stop() {
      await f.stop();
      await new Promise((resolve) => logStream.end(resolve));
      if (schemaPrefix) {
        const client = new pg.Client({ connectionString: postgresUrl });
        await client.connect();
        try {
          for (const name of ['hub', ...SMALL.map((n) => n.division)]) await client.query(`DROP SCHEMA IF EXISTS ${schemaPrefix}_${name} CASCADE`);
        } finally {
          await client.end();
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** test-results/server-logs/<test file>.<backend>.log: one file per test file and store. */
function serverLogFile(backend: Backend): string {
  const folder = fileURLToPath(new URL('../../test-results/server-logs', import.meta.url));
  mkdirSync(folder, { recursive: true });
  const testPath = expect.getState().testPath;
  return join(folder, `${testPath ? basename(testPath).replace(/\.ts$/, '') : 'federation'}.${backend}.log`);
}

export { generateSigningKey };

/**
 * Puts a stand-in in the hub's place that serves `snapshot` signed with the real hub key (a
 * malicious hub), runs `check`, then puts the real hub back.
 */
export async function withStandInHub(t: TestFederation, snapshot: DirectorySnapshot, check: () => Promise<void>): Promise<void> {
  const jws = await signSnapshot(t.key('100000'), snapshot);
  const port = Number(new URL(t.f.hub.endpoint).port);
  await t.f.hub.stop();
  const fake: Server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ snapshot: jws, version: snapshot.version, expiresAt: snapshot.expiresAt }));
  });
  await new Promise<void>((resolve, reject) => {
    fake.once('error', reject);
    fake.listen(port, '127.0.0.1', resolve);
  });
  try {
    await check();
  } finally {
    // Nodes hold keep-alive connections: close them, or close() waits for them to time out.
    const closed = new Promise<void>((resolve) => fake.close(() => resolve()));
    fake.closeAllConnections();
    await closed;
    await t.f.hub.start();
  }
}
