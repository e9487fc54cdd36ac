import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Agreement, type PartySignature } from '../agreements/index.ts';
import type { PublicJwk } from '../crypto/index.ts';
import { CONFIG_FILE_NAME, loadConfig } from '../config/index.ts';
import { generateRegistries, demoServiceConfigs, sampleSubjects } from '../demo/registries.ts';
import { TongbanError } from '../errors/index.ts';
import { FederationConfig, type FederationConfigInput } from './config.ts';
import { DEMO_PASSPHRASE } from './demo.ts';
import { portInUseMessage, portIsFree } from './ports.ts';
import { childProcessServer, inProcessServer, replicaPort, replicatedServer, type ManagedServer } from './servers.ts';

export interface FederationOptions {
  /** Folder the config's `dir` is relative to. */
  readonly baseDir?: string;
  /** `process`: every server its own OS process (what operators run); `in-process`: for tests. */
  readonly mode?: 'process' | 'in-process';
  readonly log?: (message: string) => void;
  /** In-process servers: their pino level (their configs' server.logLevel when absent). */
  readonly logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /**
   * The federation's clock: agreements' validity and, for in-process servers, every server's own
   * clock (the demo seed runs a simulated one that starts weeks ago). Process servers use the real time.
   */
  readonly clock?: () => Date;
  /** How to get past a stored set-up that conflicts with this config (named in the refusal). */
  readonly conflictHint?: string;
}

export interface RunningFederation {
  readonly config: FederationConfig;
  readonly dir: string;
  readonly hub: ManagedServer;
  readonly nodes: ReadonlyMap<string, ManagedServer>;
  /** The operator token of a server, for its local API. */
  operatorToken(division: string): string;
  adminToken(): string;
  registryPath(division: string): string;
  /** The people enrolled at the hub for the demo (config `demoPeople`), all with its password. */
  readonly people: readonly DemoPerson[];
  stop(): Promise<void>;
}

/** A person the demo enrolled at the hub (they sign in with the config's `demoPeople.password`). */
export interface DemoPerson {
  readonly login: string;
  readonly kind: 'citizen' | 'staff';
  readonly name: string;
  readonly node?: string;
  readonly roles?: readonly string[];
}

/** One staff member per role at each node; the login's local part is the role (lower case). */
const DEMO_ROLES = [
  ['clerk', '窗口人员'],
  ['approver', '审批人员'],
  ['supervisor', '主管'],
  ['dataAdmin', '数据管理员'],
  ['operator', '节点运维'],
] as const;

/**
 * Brings a federation up: creates what is missing (hub, nodes, keys, registries), starts
 * every server, approves the nodes at the hub, has every party sign each agreement and
 * registers it, and waits until every node relies on the same directory.
 */
export async function startFederation(input: FederationConfigInput, options: FederationOptions = {}): Promise<RunningFederation> {
  const parsed = FederationConfig.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'the file'}: ${i.message}`);
    throw new TongbanError('CONFIG_INVALID', `The federation's settings are not valid: ${[...new Set(issues)].join('; ')}.`);
  }
  const config = parsed.data;
  const mode = options.mode ?? 'process';
  if (config.replicas > 1 && mode !== 'process') throw new TongbanError('CONFIG_INVALID', 'Replicas run as processes only (mode "process").');
  const dir = resolve(options.baseDir ?? process.cwd(), config.dir);
  const log = options.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const schemaUrl = (name: string) => {
    if (!config.databaseUrl) return undefined;
    const url = new URL(config.databaseUrl);
    url.searchParams.set('schema', name);
    return url.toString();
  };
  const fixedPorts = config.portBase !== 0;
  const portOf = (index: number) => (fixedPorts ? config.portBase + index : 0);
  const urlOf = (index: number) => `http://${config.host}:${portOf(index)}`;

  const hubDir = join(dir, 'hub');
  const hubConfigPath = join(hubDir, CONFIG_FILE_NAME);
  const nodeDir = (division: string) => join(dir, division);
  const defaultDatabase = 'sqlite:data/node.sqlite';

  // A folder that already holds a federation keeps its ports and databases: a config asking
  // for others is refused with the way out, never silently ignored.
  const ports = { has: [] as number[], wants: [] as number[] };
  const databases = { has: new Set<string>(), wants: new Set<string>() };
  const stored = (folder: string, index: number, schema: string) => {
    const path = join(folder, CONFIG_FILE_NAME);
    if (!existsSync(path)) return;
    const file = JSON.parse(readFileSync(path, 'utf8')) as { server?: { port?: number }; database?: { url?: string } };
    if (fixedPorts && file.server?.port !== portOf(index)) {
      ports.has.push(file.server?.port ?? 0);
      ports.wants.push(portOf(index));
    }
    const has = file.database?.url ?? defaultDatabase;
    const wants = schemaUrl(schema) ?? defaultDatabase;
    if (has !== wants) {
      databases.has.add(describeDatabase(has));
      databases.wants.add(describeDatabase(wants));
    }
  };
  stored(hubDir, 0, `${config.schemaPrefix}_hub`);
  config.nodes.forEach((node, i) => stored(nodeDir(node.division), i + 1, `${config.schemaPrefix}_${node.division}`));
  const conflicts = [
    ...(ports.has.length > 0 ? [`its servers listen on ports ${ports.has.join(', ')}, not ${ports.wants.join(', ')}`] : []),
    ...(databases.has.size > 0 ? [`its servers run on ${[...databases.has].join(' and ')}, not ${[...databases.wants].join(' and ')}`] : []),
  ];
  if (conflicts.length > 0) {
    throw new Error(
      `${dir} already holds a federation set up differently: ${conflicts.join('; ')}. ` +
        (options.conflictHint ?? `Start it with its stored settings, point "dir" at another folder, or remove ${dir} to create it afresh.`),
    );
  }
  // Every port must be free before anything starts: a server already listening there (a
  // demo still running) would otherwise answer in our servers' place.
  if (fixedPorts) {
    const taken: string[] = [];
    for (let i = 0; i <= config.nodes.length; i++) {
      for (const port of [portOf(i), ...(config.replicas > 1 ? Array.from({ length: config.replicas }, (_, k) => replicaPort(portOf(i), k)) : [])]) {
        if (!(await portIsFree(config.host, port))) taken.push(portInUseMessage(port));
      }
    }
    if (taken.length > 0) {
      throw new Error(`Cannot start the federation:\n  ${taken.join('\n  ')}\nIs it already running? Stop it first, or run another federation in another folder on other ports.`);
    }
  }

  const started: ManagedServer[] = [];
  const nodes = new Map<string, ManagedServer>();
  const stopAll = async () => {
    await Promise.all(started.filter((s) => s !== started[0]).map((s) => s.stop()));
    await started[0]?.stop();
  };
  try {
    // Creating servers needs the node code; starting existing ones (a demo reused) does not, in
    // this process: each server process loads it itself.
    const nodeCode = () => import('../node/index.ts');
    // The hub first: nodes pin its key and URL when they are created.
    if (!existsSync(hubConfigPath)) {
      const { initNode } = await nodeCode();
      await initNode({
        dir: hubDir,
        division: config.hub.division,
        role: 'hub',
        // Generated keys, tokens and sample registries: every start warns that this is not for production.
        demo: true,
        ...(options.clock ? { clock: options.clock } : {}),
        algorithm: config.hub.algorithm,
        host: config.host,
        port: portOf(0),
        directory: config.directory,
        audit: config.audit,
        ...(config.rateLimit ? { rateLimit: config.rateLimit } : {}),
        ...(config.hub.name ? { name: config.hub.name } : {}),
        ...(schemaUrl(`${config.schemaPrefix}_hub`) ? { databaseUrl: schemaUrl(`${config.schemaPrefix}_hub`)! } : {}),
      });
    }
    const serverFor = (division: string, configPath: string, index: number): ManagedServer =>
      config.replicas > 1
        ? replicatedServer(division, configPath, urlOf(index), config.replicas, (m) => log(m.startsWith(`[${division}`) ? m : `[${division}] ${m}`))
        : mode === 'process'
        ? childProcessServer(division, configPath, urlOf(index), (m) => log(m.startsWith(`[${division}]`) ? m : `[${division}] ${m}`))
        : inProcessServer(division, configPath, portOf(index), config.host, (m) => log(`[${division}] ${m}`), options.logLevel, options.clock);
    const hub = serverFor(config.hub.division, hubConfigPath, 0);
    started.push(hub);
    await hub.start();
    // Only nodes being created need it: they pin it.
    let hubKey: Promise<{ kid: string; publicJwk: PublicJwk }> | undefined;
    const hubPublicKey = () => (hubKey ??= nodeCode().then(({ loadSigningKey }) => loadSigningKey(loadConfig(hubConfigPath, {}))));

    // In the order the config lists them (the summary and the examples follow it).
    const servers = config.nodes.map((node, i) => serverFor(node.division, join(nodeDir(node.division), CONFIG_FILE_NAME), i + 1));
    for (const server of servers) nodes.set(server.division, server);
    const results = await Promise.allSettled(
      config.nodes.map(async (node, i) => {
        const configPath = join(nodeDir(node.division), CONFIG_FILE_NAME);
        if (!existsSync(registry(node.division))) {
          generateRegistries(registry(node.division), { division: node.division, people: node.people, businesses: node.businesses });
        }
        if (!existsSync(configPath)) {
          const [{ initNode }, { kid, publicJwk }] = await Promise.all([nodeCode(), hubPublicKey()]);
          await initNode({
            dir: nodeDir(node.division),
            division: node.division,
            demo: true,
            ...(options.clock ? { clock: options.clock } : {}),
            algorithm: node.algorithm,
            host: config.host,
            port: portOf(i + 1),
            hub: { url: hub.endpoint, kid, jwk: publicJwk },
            services: demoServiceConfigs('registries.sqlite'),
            directory: { refreshSeconds: config.directory.refreshSeconds },
            audit: config.audit,
            ...(config.rateLimit ? { rateLimit: config.rateLimit } : {}),
            ...(config.certificates ? { certificates: config.certificates } : {}),
            ...(node.name ? { name: node.name } : {}),
            ...(schemaUrl(`${config.schemaPrefix}_${node.division}`) ? { databaseUrl: schemaUrl(`${config.schemaPrefix}_${node.division}`)! } : {}),
          });
        }
        const server = servers[i]!;
        started.push(server);
        await server.start();
      }),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) throw new Error(failed.map((r) => (r.reason instanceof Error ? r.reason.message : String(r.reason))).join('; '));

    const federation: RunningFederation = {
      config,
      dir,
      hub,
      nodes,
      operatorToken: (division) => secret(division, 'operator-token'),
      adminToken: () => secret(config.hub.division, 'admin-token'),
      registryPath: registry,
      people: [],
      stop: stopAll,
    };
    await approveNodes(federation);
    await authoriseIssuers(federation);
    if (config.demoPeople) Object.assign(federation, { people: await enrolDemoPeople(federation, config.demoPeople.password, options.clock ?? (() => new Date())) });
    await registerAgreements(federation, options.clock ?? (() => new Date()));
    await waitForConvergence(federation);
    return federation;
  } catch (error) {
    await stopAll();
    throw error;
  }

  function registry(division: string): string {
    return join(dir, division, 'registries.sqlite');
  }
  function secret(division: string, file: string): string {
    const folder = division === config.hub.division ? hubDir : nodeDir(division);
    return readFileSync(join(folder, 'keys', file), 'utf8').trim();
  }
}

/** "SQLite" or the PostgreSQL URL without its password, for messages. */
function describeDatabase(url: string): string {
  if (!/^postgres(ql)?:/.test(url)) return 'SQLite';
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  // Each server has its own schema; the database is what the user chose.
  parsed.searchParams.delete('schema');
  return `PostgreSQL ${parsed.toString()}`;
}

/**
 * Deletes a federation folder and the PostgreSQL schemas its servers used, so that the next
 * start creates everything afresh. Refuses a folder that does not hold a federation.
 */
export async function resetFederation(dirPath: string): Promise<void> {
  const dir = resolve(dirPath);
  if (!existsSync(dir)) return;
  if (!existsSync(join(dir, 'hub', CONFIG_FILE_NAME))) {
    throw new Error(`${dir} does not hold a federation (no hub/${CONFIG_FILE_NAME}); not deleting it.`);
  }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name, CONFIG_FILE_NAME);
    if (!entry.isDirectory() || !existsSync(path)) continue;
    const url = (JSON.parse(readFileSync(path, 'utf8')) as { database?: { url?: string } }).database?.url ?? '';
    if (!/^postgres(ql)?:/.test(url)) continue;
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema');
    if (!schema) continue;
    parsed.searchParams.delete('schema');
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: parsed.toString() });
    try {
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`);
    } catch (error) {
      throw new Error(`Cannot drop schema ${schema} of ${entry.name} (${describeDatabase(url)}): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    } finally {
      await client.end().catch(() => {});
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

async function call(url: string, token: string, method: 'GET' | 'POST', body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, json: await response.json() };
}

async function approveNodes(f: RunningFederation): Promise<void> {
  const wanted = new Set(f.nodes.keys());
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { json } = await call(new URL('/v1/directory/nodes', f.hub.endpoint).toString(), f.adminToken(), 'GET');
    const enrolled = (json as { nodes: Array<{ division: string; status: string }> }).nodes.filter((n) => wanted.has(n.division));
    for (const node of enrolled.filter((n) => n.status === 'pending')) {
      await call(new URL(`/v1/directory/nodes/${node.division}/approve`, f.hub.endpoint).toString(), f.adminToken(), 'POST');
    }
    if (enrolled.length === wanted.size) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('not every node enrolled at the hub within 30 s');
}

/**
 * The hub administrator authorises the configured certificate issuers (nodes of this federation,
 * approved by now). Authorising again with the same terms changes nothing (a federation restarted).
 */
async function authoriseIssuers(f: RunningFederation): Promise<void> {
  for (const issuer of f.config.certificateIssuers) {
    if (!f.nodes.has(issuer.division)) throw new Error(`certificate issuer ${issuer.division} is not a node of the federation`);
    const { status, json } = await call(new URL('/v1/certificates/issuers', f.hub.endpoint).toString(), f.adminToken(), 'POST', issuer);
    if (status !== 200) throw new Error(`the hub did not authorise ${issuer.division} as a certificate issuer: ${JSON.stringify(json)}`);
  }
}

/**
 * Enrols the demo's people at the hub through its API: citizens with the administrator token,
 * staff with a request signed by their own node (the hub takes the node from the signature).
 * Already enrolled (a demo started again): kept as they are.
 */
async function enrolDemoPeople(f: RunningFederation, password: string, clock: () => Date): Promise<DemoPerson[]> {
  const people: DemoPerson[] = [];
  const [{ loadSigningKey }, { signedRequestHeaders }] = await Promise.all([import('../node/index.ts'), import('../exchange/index.ts')]);
  const enrolled = (status: number, json: unknown, what: string) => {
    if (status !== 201 && (json as { code?: string }).code !== 'PERSON_LOGIN_TAKEN') throw new Error(`the hub did not enrol ${what}: ${JSON.stringify(json)}`);
  };
  const [first, second] = [...f.nodes.keys()];
  for (const [division, count] of [
    [first, 2],
    [second, 1],
  ] as const) {
    if (!division) continue;
    for (const citizen of sampleSubjects(f.registryPath(division), count).people) {
      const { status, json } = await call(new URL('/v1/identity/citizens', f.hub.endpoint).toString(), f.adminToken(), 'POST', { idNumber: citizen.idNumber, name: citizen.name, password });
      enrolled(status, json, 'a demo citizen');
      people.push({ login: citizen.idNumber, kind: 'citizen', name: citizen.name });
    }
  }
  for (const [division, node] of f.nodes) {
    const key = loadSigningKey(loadConfig(node.configPath, {}));
    for (const [role, title] of DEMO_ROLES) {
      const url = new URL('/v1/identity/staff', f.hub.endpoint).toString();
      const login = `${role.toLowerCase()}@${division}`;
      const body = JSON.stringify({ login, name: `${title}（${division}）`, password, roles: [role] });
      const response = await fetch(url, { method: 'POST', headers: await signedRequestHeaders(key, url, body, clock()), body, signal: AbortSignal.timeout(15_000) });
      enrolled(response.status, await response.json(), login);
      if (role === 'dataAdmin' || role === 'operator') {
        // The node's own grant (the hub's role claim alone administers nothing), with the demo's published node passphrase.
        const grant = await call(new URL(`/v1/operator/staff/${encodeURIComponent(login)}/admin-grant`, node.endpoint).toString(), f.operatorToken(division), 'POST', { roles: [role], passphrase: DEMO_PASSPHRASE });
        if (grant.status !== 201) throw new Error(`${division} did not grant ${login} ${role}: ${JSON.stringify(grant.json)}`);
      }
      people.push({ login, kind: 'staff', name: `${title}（${division}）`, node: division, roles: [role] });
    }
  }
  return people;
}

async function registerAgreements(f: RunningFederation, clock: () => Date): Promise<void> {
  const now = clock();
  for (const template of f.config.agreements) {
    const existing = await fetch(new URL(`/v1/agreements/${template.id}`, f.hub.endpoint));
    if (existing.ok) continue;
    const agreement = Agreement.parse({
      version: 1,
      validFrom: new Date(now.getTime() - 86_400_000).toISOString(),
      validUntil: new Date(now.getTime() + 2 * 365 * 86_400_000).toISOString(),
      ...template,
    });
    // Each party accepts the terms as a whole (the federation file is what its operators agreed
    // on) and signs them with its own key, through its own node: a node signs only what it accepted.
    const signatures: PartySignature[] = [];
    for (const party of agreement.parties) {
      const node = f.nodes.get(party);
      if (!node) throw new Error(`agreement ${agreement.id} names ${party}, which is not in the federation`);
      const accepted = await call(new URL('/v1/operator/agreements/accept', node.endpoint).toString(), f.operatorToken(party), 'POST', { agreement });
      if (accepted.status !== 200) throw new Error(`${party} did not accept ${agreement.id}: ${JSON.stringify(accepted.json)}`);
      const { status, json } = await call(new URL('/v1/operator/agreements/sign', node.endpoint).toString(), f.operatorToken(party), 'POST', { agreement });
      if (status !== 200) throw new Error(`${party} did not sign ${agreement.id}: ${JSON.stringify(json)}`);
      signatures.push(json as PartySignature);
    }
    const submitter = f.nodes.get(agreement.parties[0]!)!;
    const { status, json } = await call(new URL('/v1/operator/agreements/submit', submitter.endpoint).toString(), f.operatorToken(agreement.parties[0]!), 'POST', { agreement, signatures });
    if (status !== 200) throw new Error(`the hub did not register ${agreement.id}: ${JSON.stringify(json)}`);
  }
}

/**
 * Waits until every node of this federation sees every other one and every agreement; other
 * enrolled nodes do not matter. A replicated node is asked at each replica, not through its front:
 * a replica that has not yet adopted the snapshot another one fetched would refuse the first
 * exchanges that reach it (AGREEMENT_NOT_FOUND).
 */
async function waitForConvergence(f: RunningFederation): Promise<void> {
  const agreementIds = f.config.agreements.map((a) => a.id);
  const divisions = [f.config.hub.division, ...f.nodes.keys()];
  const deadline = Date.now() + 60_000;
  for (const [division, node] of f.nodes) {
    for (const endpoint of node.replicas ? node.replicas.map((r) => r.endpoint) : [node.endpoint]) {
      for (;;) {
        const { json } = await call(new URL('/v1/operator/directory', endpoint).toString(), f.operatorToken(division), 'GET');
        const status = json as { nodes: Array<{ division: string }>; agreements: Array<{ id: string }> };
        const seen = new Set(status.nodes.map((n) => n.division));
        if (divisions.every((d) => seen.has(d)) && agreementIds.every((id) => status.agreements.some((a) => a.id === id))) break;
        if (Date.now() > deadline) throw new Error(`${division} (${endpoint}) did not see every server and agreement of the federation in its directory within 60 s`);
        await call(new URL('/v1/operator/directory/refresh', endpoint).toString(), f.operatorToken(division), 'POST');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}
