import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { PublicJwk, signingAlgorithms } from '../crypto/index.ts';
import { ServiceConfig } from '../services/index.ts';
import { TongbanError, validationError } from '../errors/index.ts';
import { divisions } from '../standards/index.ts';

/** The file a node's settings live in, in its folder. */
export const CONFIG_FILE_NAME = 'tongban.config.json';

/** The hub speaks for the whole country: it takes the national code used in central credit codes. */
export const NATIONAL_DIVISION = '100000';

export const NodeRole = z.enum(['node', 'hub']);
export type NodeRole = z.infer<typeof NodeRole>;

/**
 * `server.trustProxy` (or TONGBAN_TRUST_PROXY, comma-separated): addresses or CIDR ranges of the
 * fronts whose X-Forwarded-For is believed. A range of more than a /8 (IPv4) or /32 (IPv6)
 * would believe strangers, so it is refused.
 */
export const TrustedProxies = z
  .array(
    z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()]).refine((a) => !a.includes('/') || Number(a.split('/')[1]) >= (a.includes(':') ? 32 : 8), {
      message: 'a trusted proxy range may be no wider than /8 (IPv4) or /32 (IPv6): name the fronts, not the Internet',
    }),
  )
  .max(100);

export const ConfigFile = z
  .object({
    node: z.object({
      division: z.string().regex(/^\d{6}$/, 'a division code has six digits'),
      name: z.string().trim().min(1).max(100),
      role: NodeRole,
    }),
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(7701),
        /** Largest request body accepted, in bytes. */
        bodyLimit: z.number().int().min(1024).max(50 * 1024 * 1024).default(1024 * 1024),
        /** The URL other nodes use to reach this one; defaults to http://host:port as it listens. */
        publicUrl: z.url().optional(),
        /**
         * Pino log level. Request logs and one line per exchange outcome are at info; the default
         * (warn) leaves them off, as they cost throughput (STACK.md).
         */
        logLevel: z.enum(['silent', 'error', 'warn', 'info', 'debug']).default('warn'),
        /**
         * Addresses (or CIDR ranges) of the fronts or proxies in front of this server whose
         * `X-Forwarded-For` is believed: a request from one of them counts under the client address
         * it names, for the per-address rate limits, the sign-in lock and the logs. Empty (the
         * default): the socket's address, whatever the headers say. Name only proxies that set the
         * header themselves, as `tongban front` does.
         */
        trustProxy: TrustedProxies.default([]),
        /** Open connections the server accepts at once; more are closed at once (file descriptors are finite). */
        maxConnections: z.number().int().min(1).max(1_000_000).default(1000),
        /** Open event streams (GET /v1/cases/events) one account may hold; one more gets 429 TOO_MANY_STREAMS. */
        maxStreamsPerPrincipal: z.number().int().min(1).max(1000).default(5),
        /** A connection that sends and receives nothing this long is closed (event streams send a heartbeat well within it). */
        idleTimeoutSeconds: z.number().min(1).max(3600).default(60),
        /** How long an idle keep-alive connection waits for the next request. */
        keepAliveTimeoutSeconds: z.number().min(1).max(600).default(5),
        /** Time allowed to receive a request's headers … */
        headersTimeoutSeconds: z.number().min(1).max(600).default(20),
        /** … and the whole request (headers and body); slow senders are cut off. */
        requestTimeoutSeconds: z.number().min(1).max(3600).default(60),
        /**
         * Requests per client address and route within `windowSeconds` on unauthenticated routes
         * (snapshot, public look-ups: `max`; enrolments and rotation requests: `enrolmentMax`).
         * Authenticated calls (operator, staff, signed node-to-node) are not counted here.
         */
        rateLimit: z
          .object({
            enabled: z.boolean().default(true),
            windowSeconds: z.number().int().min(1).max(86_400).default(60),
            max: z.number().int().min(1).max(10_000_000).default(600),
            enrolmentMax: z.number().int().min(1).max(10_000_000).default(30),
          })
          .prefault({}),
      })
      .refine((s) => s.headersTimeoutSeconds <= s.requestTimeoutSeconds, {
        message: 'headersTimeoutSeconds cannot exceed requestTimeoutSeconds',
        path: ['headersTimeoutSeconds'],
      })
      .prefault({}),
    database: z.object({
      url: z.string().min(1),
      /**
       * A PostgreSQL read replica of `url` (streaming replication): the read-heavy queries (the
       * data tracker's audit reads, the governance aggregates) go there; everything else, and
       * everything when it is absent, to `url`. `tongban serve --read-database <url>` overrides it.
       */
      readUrl: z.string().regex(/^postgres(ql)?:\/\//, 'a read replica is a postgres:// URL').optional(),
    }),
    keys: z.object({
      algorithm: z.enum(signingAlgorithms),
      file: z.string().min(1),
      encryptionFile: z.string().min(1).default('keys/encryption-key.json'),
      auditKeyFile: z.string().min(1).default('keys/audit-key'),
      operatorTokenFile: z.string().min(1).default('keys/operator-token'),
      adminTokenFile: z.string().min(1).default('keys/admin-token'),
    }),
    /** For nodes: where the hub is, and its signing key, pinned at set-up as the trust anchor. */
    hub: z.object({ url: z.url(), kid: z.string().min(1), jwk: PublicJwk }).optional(),
    directory: z
      .object({
        refreshSeconds: z.number().min(0.2).max(86_400).default(30),
        /** Hub only: how long a snapshot may be relied on. */
        snapshotTtlSeconds: z.number().min(1).max(7 * 86_400).default(3600),
      })
      .prefault({}),
    audit: z
      .object({
        checkpointSeconds: z.number().min(0.2).max(86_400).default(60),
        /** A checkpoint is also sent once this many entries are not yet witnessed (and at every graceful stop). */
        checkpointEntries: z.number().int().min(1).max(1_000_000).default(1000),
      })
      .prefault({}),
    /** Working-day calendar: the shipped State Council arrangements plus these. */
    calendar: z
      .object({ holidays: z.array(z.iso.date()).default([]), makeupWorkdays: z.array(z.iso.date()).default([]) })
      .prefault({}),
    cases: z
      .object({
        /** How often the outbox retries undelivered hand-offs. */
        outboxIntervalMs: z.number().int().min(50).max(600_000).default(1000),
        /** How often overdue cases are looked for and escalated. */
        escalationSeconds: z.number().min(0.2).max(86_400).default(60),
      })
      .prefault({}),
    /**
     * Several replicas of this node on one PostgreSQL database: how long a replica's claim on
     * outbox messages and on the node's periodic work stands without renewal. A replica that dies
     * is replaced after at most this long; a shorter lease replaces it sooner but renews more often.
     */
    replicas: z.object({ leaseSeconds: z.number().min(1).max(3600).default(30) }).prefault({}),
    messaging: z
      .object({
        /** Nodes this node cannot reach directly: its messages to them go through the hub's relay. */
        viaHub: z.array(z.string().regex(/^\d{6}$/)).max(1000).default([]),
      })
      .prefault({}),
    exchange: z
      .object({
        /** The longest a citizen's consent may be relied on after its grant, requesting or providing. */
        consentMaxDays: z.number().int().min(1).max(3650).default(90),
      })
      .prefault({}),
    /** E-certificates (docs/certificates.md): what this node issues, and how it verifies others'. */
    certificates: z
      .object({
        /**
         * Indexes in each new status list. A large list hides which certificate a verifier looks up
         * among many (herd privacy); a full list is followed by a new one.
         */
        statusListSize: z.number().int().min(1).max(1_000_000).default(8192),
        /** How long verifiers may cache a served status list (its `ttl`): a revocation shows within this. */
        statusListTtlSeconds: z.number().int().min(1).max(86_400).default(60),
        /**
         * Verifier: the longest an issuer's status list is relied on after it was fetched (less
         * when the list's own ttl is shorter): a revocation is seen within this many seconds.
         */
        statusMaxAgeSeconds: z.number().min(0).max(86_400).default(300),
      })
      .prefault({}),
    /**
     * Who may scrape GET /metrics (counts and ages only, never personal values): the operator
     * token always; also a dedicated metrics token from `tokenFile` (for a Prometheus that must
     * not hold the operator token); or anyone when `public` (warned about at start-up).
     */
    metrics: z
      .object({
        public: z.boolean().default(false),
        tokenFile: z.string().min(1).optional(),
      })
      .prefault({}),
    /** Set on nodes the demo federation created: their keys, tokens and registries are development material. */
    demo: z.boolean().default(false),
    /** Data services this node publishes, each over an adapter. */
    services: z.array(ServiceConfig).default([]),
  })
  .strict()
  .superRefine((config, ctx) => {
    const { division, role } = config.node;
    if (role === 'node' && !config.hub) ctx.addIssue({ code: 'custom', path: ['hub'], message: 'a node needs the hub URL and key' });
    if (role === 'hub' && division === NATIONAL_DIVISION) return;
    const known = divisions.get(division);
    if (!known) ctx.addIssue({ code: 'custom', path: ['node', 'division'], message: `${division} is not a GB/T 2260 division code` });
    else if (known.retired) {
      ctx.addIssue({ code: 'custom', path: ['node', 'division'], message: `${division} (${known.name}) was abolished on ${known.retired}` });
    }
  });
export type ConfigFile = z.infer<typeof ConfigFile>;

/** The configuration a node runs with: validated, paths resolved, frozen. */
export interface NodeConfig extends ConfigFile {
  /** Folder of the config file; relative paths inside it are resolved against it. */
  readonly dir: string;
  readonly configPath: string;
  readonly keyFile: string;
  readonly encryptionKeyFile: string;
  readonly auditKeyFile: string;
  readonly operatorTokenFile: string;
  readonly adminTokenFile: string;
  /** The metrics token file, resolved; undefined when none is configured. */
  readonly metricsTokenFile: string | undefined;
}

/**
 * Loads and validates a config file. `DATABASE_URL` in the environment overrides the file's
 * database, so one config can run on SQLite in development and PostgreSQL in production.
 */
export function loadConfig(configPath: string, env: Readonly<Record<string, string | undefined>> = process.env): NodeConfig {
  const path = resolve(configPath);
  if (!existsSync(path)) {
    throw new TongbanError('CONFIG_INVALID', `There is no config file at ${path}; create one with "tongban init".`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new TongbanError('CONFIG_INVALID', `The config file ${path} is not valid JSON.`);
  }
  const parsed = ConfigFile.safeParse(raw);
  if (!parsed.success) {
    const error = validationError(parsed.error, 'CONFIG_INVALID');
    throw new TongbanError('CONFIG_INVALID', `The config file ${path} is invalid: ${error.message}.`, { errors: error.errors });
  }
  const dir = dirname(path);
  const data = parsed.data;
  const databaseUrl = env.DATABASE_URL ?? data.database.url;
  const readUrl = env.DATABASE_READ_URL ?? data.database.readUrl;
  // Set by `tongban federation up --replicas` for its replicas (their front is its own process), or by an operator.
  let trustProxy = data.server.trustProxy;
  if (env.TONGBAN_TRUST_PROXY !== undefined) {
    const fromEnv = TrustedProxies.safeParse(env.TONGBAN_TRUST_PROXY.split(',').map((a) => a.trim()).filter((a) => a !== ''));
    if (!fromEnv.success) throw new TongbanError('CONFIG_INVALID', `TONGBAN_TRUST_PROXY is invalid: ${fromEnv.error.issues.map((i) => i.message).join('; ')}.`);
    trustProxy = fromEnv.data;
  }
  checkReadDatabase(databaseUrl, readUrl, path);
  const inDir = (file: string) => (isAbsolute(file) ? file : resolve(dir, file));
  return deepFreeze({
    ...data,
    server: { ...data.server, trustProxy },
    database: { url: resolveDatabaseUrl(databaseUrl, dir), ...(readUrl ? { readUrl } : {}) },
    dir,
    configPath: path,
    keyFile: inDir(data.keys.file),
    encryptionKeyFile: inDir(data.keys.encryptionFile),
    auditKeyFile: inDir(data.keys.auditKeyFile),
    operatorTokenFile: inDir(data.keys.operatorTokenFile),
    adminTokenFile: inDir(data.keys.adminTokenFile),
    metricsTokenFile: data.metrics.tokenFile === undefined ? undefined : inDir(data.metrics.tokenFile),
  });
}

/**
 * A read replica is a PostgreSQL URL, of a node whose database is PostgreSQL (SQLite has no
 * replicas: one file, one process). CONFIG_INVALID names where it came from otherwise.
 */
export function checkReadDatabase(databaseUrl: string, readUrl: string | undefined, where: string): void {
  if (readUrl === undefined) return;
  if (!/^postgres(ql)?:\/\//.test(readUrl)) {
    throw new TongbanError('CONFIG_INVALID', `The read database in ${where} must be a postgres:// URL (a PostgreSQL read replica).`);
  }
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new TongbanError('CONFIG_INVALID', `A read database needs the node's own database on PostgreSQL (${where} names a SQLite one): remove the read database, or move the node to PostgreSQL.`);
  }
}

/** SQLite paths in a config are relative to the config's folder. */
export function resolveDatabaseUrl(url: string, dir: string): string {
  if (/^postgres(ql)?:\/\//.test(url) || url === ':memory:') return url;
  const path = url.replace(/^sqlite:(\/\/)?/, '');
  return isAbsolute(path) ? path : resolve(dir, path);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
