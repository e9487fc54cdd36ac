import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Agreement, type PartySignature } from '../agreements/index.ts';
import { loadConfig } from '../config/index.ts';
import { generateRegistries, demoServiceConfigs } from '../demo/registries.ts';
import { initNode, loadSigningKey, CONFIG_FILE_NAME } from '../node/index.ts';
import { FederationConfig, type FederationConfigInput } from './config.ts';
import { childProcessServer, inProcessServer, type ManagedServer } from './servers.ts';

export interface FederationOptions {
  /** Folder the config's `dir` is relative to. */
  readonly baseDir?: string;
  /** `process`: every server its own OS process (what operators run); `in-process`: for tests. */
  readonly mode?: 'process' | 'in-process';
  readonly log?: (message: string) => void;
  /** In-process servers: their pino level (their configs' server.logLevel when absent). */
  readonly logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  readonly clock?: () => Date;
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
  stop(): Promise<void>;
}

/**
 * Brings a federation up: creates what is missing (hub, nodes, keys, registries), starts
 * every server, approves the nodes at the hub, has every party sign each agreement and
 * registers it, and waits until every node relies on the same directory.
 */
export async function startFederation(input: FederationConfigInput, options: FederationOptions = {}): Promise<RunningFederation> {
  const config = FederationConfig.parse(input);
  const dir = resolve(options.baseDir ?? process.cwd(), config.dir);
  const mode = options.mode ?? 'process';
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

  // The hub first: nodes pin its key and URL when they are created.
  const hubDir = join(dir, 'hub');
  const hubConfigPath = join(hubDir, CONFIG_FILE_NAME);
  if (!existsSync(hubConfigPath)) {
    await initNode({
      dir: hubDir,
      division: config.hub.division,
      role: 'hub',
      // Generated keys, tokens and sample registries: every start warns that this is not for production.
      demo: true,
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
    mode === 'process'
      ? childProcessServer(division, configPath, urlOf(index), (m) => log(m.startsWith(`[${division}]`) ? m : `[${division}] ${m}`))
      : inProcessServer(division, configPath, portOf(index), config.host, (m) => log(`[${division}] ${m}`), options.logLevel);
  const hub = serverFor(config.hub.division, hubConfigPath, 0);
  await hub.start();
  const hubKey = loadSigningKey(loadConfig(hubConfigPath, {}));

  const nodes = new Map<string, ManagedServer>();
  const registry = (division: string) => join(dir, division, 'registries.sqlite');
  await Promise.all(
    config.nodes.map(async (node, i) => {
      const nodeDir = join(dir, node.division);
      const configPath = join(nodeDir, CONFIG_FILE_NAME);
      if (!existsSync(registry(node.division))) {
        generateRegistries(registry(node.division), { division: node.division, people: node.people, businesses: node.businesses });
      }
      if (!existsSync(configPath)) {
        await initNode({
          dir: nodeDir,
          division: node.division,
          demo: true,
          algorithm: node.algorithm,
          host: config.host,
          port: portOf(i + 1),
          hub: { url: hub.endpoint, kid: hubKey.kid, jwk: hubKey.publicJwk },
          services: demoServiceConfigs('registries.sqlite'),
          directory: { refreshSeconds: config.directory.refreshSeconds },
          audit: config.audit,
          ...(config.rateLimit ? { rateLimit: config.rateLimit } : {}),
          ...(node.name ? { name: node.name } : {}),
          ...(schemaUrl(`${config.schemaPrefix}_${node.division}`) ? { databaseUrl: schemaUrl(`${config.schemaPrefix}_${node.division}`)! } : {}),
        });
      }
      const server = serverFor(node.division, configPath, i + 1);
      nodes.set(node.division, server);
      await server.start();
    }),
  );

  const secret = (division: string, file: string) => {
    const folder = division === config.hub.division ? hubDir : join(dir, division);
    return readFileSync(join(folder, 'keys', file), 'utf8').trim();
  };
  const federation: RunningFederation = {
    config,
    dir,
    hub,
    nodes,
    operatorToken: (division) => secret(division, 'operator-token'),
    adminToken: () => secret(config.hub.division, 'admin-token'),
    registryPath: registry,
    async stop() {
      await Promise.all([...nodes.values()].map((n) => n.stop()));
      await hub.stop();
    },
  };
  try {
    await approveNodes(federation);
    await registerAgreements(federation, options.clock ?? (() => new Date()));
    await waitForConvergence(federation);
  } catch (error) {
    await federation.stop();
    throw error;
  }
  return federation;
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
    // Each party signs with its own key, through its own node.
    const signatures: PartySignature[] = [];
    for (const party of agreement.parties) {
      const node = f.nodes.get(party);
      if (!node) throw new Error(`agreement ${agreement.id} names ${party}, which is not in the federation`);
      const { status, json } = await call(new URL('/v1/operator/agreements/sign', node.endpoint).toString(), f.operatorToken(party), 'POST', { agreement });
      if (status !== 200) throw new Error(`${party} did not sign ${agreement.id}: ${JSON.stringify(json)}`);
      signatures.push(json as PartySignature);
    }
    const submitter = f.nodes.get(agreement.parties[0]!)!;
    const { status, json } = await call(new URL('/v1/operator/agreements/submit', submitter.endpoint).toString(), f.operatorToken(agreement.parties[0]!), 'POST', { agreement, signatures });
    if (status !== 200) throw new Error(`the hub did not register ${agreement.id}: ${JSON.stringify(json)}`);
  }
}

async function waitForConvergence(f: RunningFederation): Promise<void> {
  const agreementIds = f.config.agreements.map((a) => a.id);
  const deadline = Date.now() + 60_000;
  for (const [division, node] of f.nodes) {
    for (;;) {
      const { json } = await call(new URL('/v1/operator/directory', node.endpoint).toString(), f.operatorToken(division), 'GET');
      const status = json as { nodes: unknown[]; agreements: Array<{ id: string }> };
      if (status.nodes.length === f.nodes.size + 1 && agreementIds.every((id) => status.agreements.some((a) => a.id === id))) break;
      if (Date.now() > deadline) throw new Error(`${division} did not receive the full directory within 60 s`);
      await call(new URL('/v1/operator/directory/refresh', node.endpoint).toString(), f.operatorToken(division), 'POST');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
