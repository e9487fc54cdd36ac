import { readFileSync } from 'node:fs';
import { AgreementLifecycles, NegotiationService, registerAgreementStateMessages } from '../agreements/index.ts';
import { AuditLog } from '../audit/index.ts';
import { bridgeCaseEvents, CaseService, registerCaseMessages, WorkingCalendar } from '../cases/index.ts';
import { CertificateIndex, IssuerRegistry, TrustListClient, type TrustListSource } from '../certificates/index.ts';
import { StatusListCache } from '../certificates/status-lists.ts';
import { CertificateVerifier } from '../certificates/verifier.ts';
import { Catalog } from '../catalog/index.ts';
import { checkReadDatabase, loadConfig, type NodeConfig } from '../config/index.ts';
import { encryptionKeyFromJwk, type EncryptionKey, type SigningKey } from '../crypto/index.ts';
import { DirectoryClient, HubDirectory, type DirectoryEntry } from '../directory/index.ts';
import { TongbanError } from '../errors/index.ts';
import { ExchangeClient, type ExchangeContext } from '../exchange/index.ts';
import { loadOrCreateOidcKeys, NodeIdentity, type OidcKeys } from '../identity/index.ts';
import { Messaging, replicaId } from '../messaging/index.ts';
import { ConsentService, registerConsentRevocations } from '../identity/consent/index.ts';
import { CertificateIssuer } from '../issuer/index.ts';
import { ServiceRegistry } from '../services/index.ts';
import { describeDatabase, openReadStore, openStore, type Store } from '../store/index.ts';
import { startBackgroundJobs, type BackgroundJobs } from './jobs.ts';
import { KeyRing, keyFiles, loadJsonKey, readSigningKeyFile } from './key-ring.ts';
import { KeyRotation } from './key-rotation.ts';
import { submitToHub } from './agreement-submit.ts';

/** Everything a running node holds. */
export interface NodeRuntime {
  readonly config: NodeConfig;
  readonly store: Store;
  /**
   * Where read-heavy queries go (the data tracker's audit reads, the governance aggregates): a
   * second, read-only store on the PostgreSQL read replica when one is configured (`database.readUrl`,
   * `tongban serve --read-database`), else `store` itself. It may lag behind `store`: nothing
   * that decides or writes reads it.
   */
  readonly readStore: Store;
  /** The key the node signs with now (read it at each use: an approved rotation replaces it). */
  readonly signingKey: SigningKey;
  readonly keys: KeyRing;
  /** Nodes only: asking for and completing key rotations. */
  readonly rotation: KeyRotation | undefined;
  readonly encryptionKey: EncryptionKey;
  readonly auditKey: Uint8Array;
  readonly operatorToken: string;
  /** Hub only. */
  readonly adminToken: string | undefined;
  /** A token that may read GET /metrics only (config `metrics.tokenFile`), if one is configured. */
  readonly metricsToken: string | undefined;
  /** Where this node's log lines go (start-up warnings, background jobs, the server's request log): stderr, or what the caller gave. */
  readonly log: (message: string) => void;
  readonly audit: AuditLog;
  readonly services: ServiceRegistry;
  /** Hub only: the authoritative directory. */
  readonly hubDirectory: HubDirectory | undefined;
  /** Nodes only: the cached copy of the hub's directory. */
  readonly directoryClient: DirectoryClient | undefined;
  /** Where each agreement's lifecycle stands at this node (suspended, resumed, terminated). */
  readonly lifecycles: AgreementLifecycles;
  readonly exchange: ExchangeContext;
  readonly client: ExchangeClient;
  readonly cases: CaseService;
  /** Node-to-node messages (cases, agreement negotiation): send, register kinds, inbox, relay. */
  readonly messages: Messaging;
  /** Agreement negotiation at this node (docs/agreements.md). */
  readonly negotiations: NegotiationService;
  /** Hub only: consents citizens give, signed by the hub on their behalf (docs/consent.md). */
  readonly consents: ConsentService | undefined;
  /** E-certificates (docs/certificates.md). */
  readonly certificates: {
    /** The trust list this node relies on: the hub's own; at a node, its verified copy of the hub's. */
    readonly trustList: TrustListSource;
    /** Hub only: issuer authorisations, their keys, the signed trust list. */
    readonly issuers: IssuerRegistry | undefined;
    /** Hub only: the certificate index (issuers' reports; the wallet; the tracker's certificate ids). */
    readonly index: CertificateIndex | undefined;
    /** This node as a verifier: issuers' status lists as fetched from their endpoints, within the configured age. */
    readonly statusLists: StatusListCache;
    /** This node as a verifier: challenges and verification of presentations (audited). */
    readonly verifier: CertificateVerifier;
    /** What this node issues: certificates of the granted cases it concludes, their status lists (nodes only). */
    readonly issuer: CertificateIssuer;
  };
  readonly calendar: WorkingCalendar;
  /** Who is calling (src/identity): sessions, hub access tokens, machine clients; nodes sign people in at the hub. */
  readonly identity: NodeIdentity;
  readonly clock: () => Date;
  /** This process among the replicas of the node (outbox claims, the periodic-work lease). */
  readonly replica: string;
  /**
   * Hub only: its OpenID Connect keys (read, or created when missing, once): the provider signs
   * tokens with them, and the data tracker its per-node proofs. Undefined at a node.
   */
  readonly oidcKeys: (() => Promise<OidcKeys>) | undefined;
  catalog(): Promise<Catalog>;
  /** This node's directory entry once it knows the URL it is reached at. */
  entry(endpoint: string): DirectoryEntry;
  /** Starts directory refresh, enrolment, checkpoints and clean-up once the server listens. */
  start(endpoint: string): Promise<void>;
  close(): Promise<void>;
}

export interface OpenNodeOptions {
  readonly clock?: () => Date;
  readonly log?: (message: string) => void;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A read replica's URL (`tongban serve --read-database`), instead of the config's `database.readUrl`. */
  readonly readDatabaseUrl?: string;
}

export async function openNode(configPath: string, options: OpenNodeOptions = {}): Promise<NodeRuntime> {
  const config = loadConfig(configPath, options.env ?? process.env);
  const clock = options.clock ?? (() => new Date());
  const log = options.log ?? ((message: string) => process.stderr.write(`[${config.node.division}] ${message}\n`));
  const keys = new KeyRing(config);
  const encryptionKey = loadJsonKey(config.encryptionKeyFile, 'encryption key', (raw) => encryptionKeyFromJwk(config.node.division, raw.privateJwk));
  const auditKey = Buffer.from(readSecret(config.auditKeyFile, 'audit key'), 'hex');
  const operatorToken = readSecret(config.operatorTokenFile, 'operator token');
  const adminToken = config.node.role === 'hub' ? readSecret(config.adminTokenFile, 'admin token') : undefined;
  const metricsToken = config.metricsTokenFile === undefined ? undefined : readSecret(config.metricsTokenFile, 'metrics token');
  const services = new ServiceRegistry(config.services, config.dir);
  const readUrl = options.readDatabaseUrl ?? config.database.readUrl;
  checkReadDatabase(config.database.url, readUrl, options.readDatabaseUrl !== undefined ? '--read-database' : config.configPath);
  const store = await openExistingStore(config, clock);
  const readStore = readUrl === undefined ? store : await openExistingReadStore(config, readUrl, clock).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  const audit = new AuditLog(store, clock);

  const entry = (endpoint: string): DirectoryEntry => ({
    division: config.node.division,
    name: config.node.name,
    role: config.node.role,
    endpoint,
    signingKey: { kid: keys.current().kid, jwk: keys.current().publicJwk },
    encryptionKey: { kid: encryptionKey.kid, jwk: encryptionKey.publicJwk },
    services: services.list(),
  });

  let hubDirectory: HubDirectory | undefined;
  let directoryClient: DirectoryClient | undefined;
  // The hub's directory needs its own endpoint; until start() it answers as unavailable.
  let hubReady: HubDirectory | undefined;
  let rotation: KeyRotation | undefined;
  if (config.node.role === 'node') {
    directoryClient = new DirectoryClient({
      store,
      hubUrl: config.hub!.url,
      hubKey: { kid: config.hub!.kid, jwk: config.hub!.jwk },
      refreshSeconds: config.directory.refreshSeconds,
      clock,
      log,
      onRefused: async (refused) => {
        await audit.append({ kind: 'agreement.refuse', outcome: 'refused', code: refused.code, agreementId: refused.id, detail: { version: refused.version, reason: refused.reason.slice(0, 300) } });
      },
      onView: async (view) => {
        // A snapshot that publishes this node's pending key as its key: switch to it now.
        await rotation?.onView(view);
        // Agreement state changes the hub publishes, each verified here against the parties' keys.
        await lifecycles.receiveAll(view.snapshot.agreementStates ?? [], view.snapshot.issuer, view);
      },
    });
  }
  const directory = {
    current: async () => {
      if (directoryClient) return directoryClient.current();
      if (!hubReady) throw new TongbanError('DIRECTORY_UNAVAILABLE', 'The hub has not started yet.');
      return hubReady.current();
    },
  };
  const replica = replicaId();
  const messages = new Messaging({
    self: config.node.division,
    store,
    audit,
    signingKey: keys,
    encryptionKey,
    directory,
    clock,
    intervalMs: config.cases.outboxIntervalMs,
    viaHub: config.messaging.viaHub,
    log,
    replica,
    leaseMs: config.replicas.leaseSeconds * 1000,
  });
  const lifecycles = new AgreementLifecycles({ self: config.node.division, store, audit, directory, signingKey: keys, clock, messages, replica, log, onApplied: () => hubDirectory?.changed() });
  await lifecycles.load();
  // Changes the node's other replicas record (PostgreSQL NOTIFY): reloaded here at once.
  const stopLifecycleEvents = await lifecycles.listen();
  registerAgreementStateMessages(messages, lifecycles);
  if (directoryClient) {
    const cache = directoryClient;
    rotation = new KeyRotation({ config, store, audit, keys, directory, refreshDirectory: () => cache.refresh(), clock, log });
    await rotation.reconcile();
  }
  const exchange: ExchangeContext = {
    self: config.node.division,
    signingKey: keys,
    encryptionKey,
    directory,
    services,
    audit,
    auditKey,
    store,
    clock,
    consentMaxDays: config.exchange.consentMaxDays,
    agreementStates: lifecycles,
    consentReports: messages,
  };
  let consents: ConsentService | undefined;
  let issuers: IssuerRegistry | undefined;
  let certificateIndex: CertificateIndex | undefined;
  let trustList: TrustListSource;
  if (config.node.role === 'hub') {
    consents = new ConsentService({ self: config.node.division, store, audit, auditKey, signingKey: keys, directory, messages, clock, maxDays: config.exchange.consentMaxDays, agreementStates: lifecycles });
    consents.register(messages);
    issuers = new IssuerRegistry({ self: config.node.division, store, signingKey: keys, clock });
    certificateIndex = new CertificateIndex({ self: config.node.division, store, audit, auditKey, issuers, directory, clock });
    certificateIndex.register(messages);
    trustList = issuers;
  } else {
    // Fetched again as often as the directory, so that a withdrawn issuer is dropped as soon.
    trustList = new TrustListClient({ hubUrl: config.hub!.url, directory, clock, maxAgeSeconds: config.directory.refreshSeconds, log });
    registerConsentRevocations(messages, { directory, audit, clock });
  }
  let jobs: BackgroundJobs | undefined;
  let oidcKeys: Promise<OidcKeys> | undefined;
  const client = new ExchangeClient(exchange);
  const calendar = WorkingCalendar.china(config.calendar);
  const catalog = async () => new Catalog(await store.catalogItems.list());
  // Nodes issue the certificates of the cases they decide (the hub issues none: it serves no certificate routes).
  const issuer = new CertificateIssuer({
    self: config.node.division,
    store,
    audit,
    auditKey,
    clock,
    signingKey: keys,
    trustList,
    messages,
    statusListSize: config.certificates.statusListSize,
    statusListTtlSeconds: config.certificates.statusListTtlSeconds,
  });
  const cases = new CaseService({ self: config.node.division, store, audit, clock, signingKey: keys, directory, client, catalog, calendar, messages, auditKey, agreementState: (id) => lifecycles.stateOf(id), ...(config.node.role === 'node' ? { onConclude: issuer } : {}) });
  registerCaseMessages(messages, cases);
  // Case events from the node's other replicas (PostgreSQL), so every replica's streams see them.
  const stopCaseEvents = await bridgeCaseEvents({ store, cases, replica, log });
  const negotiations = new NegotiationService({
    self: config.node.division,
    store,
    audit,
    signingKey: keys,
    messages,
    clock,
    submit: async (signed) => {
      if (config.node.role !== 'node') throw new TongbanError('NEGOTIATION_FORBIDDEN', 'The hub registers agreements; it is no party to them.');
      await submitToHub({ config, keys, directoryClient, clock }, signed);
    },
    refresh: async () => {
      await directoryClient?.refresh();
    },
    directory,
  });
  negotiations.register(messages);
  const identity = new NodeIdentity({ store, clock, self: config.node.division, hubUrl: config.hub?.url });
  const statusLists = new StatusListCache({ store, directory, trustList, clock, maxAgeSeconds: config.certificates.statusMaxAgeSeconds });
  const verifier = new CertificateVerifier({ self: config.node.division, store, audit, auditKey, clock, trustList, statusLists });

  const runtime: NodeRuntime = {
    config,
    store,
    readStore,
    get signingKey() {
      return keys.current();
    },
    keys,
    rotation,
    encryptionKey,
    auditKey,
    operatorToken,
    adminToken,
    metricsToken,
    log,
    audit,
    services,
    get hubDirectory() {
      return hubDirectory;
    },
    directoryClient,
    lifecycles,
    exchange,
    client,
    cases,
    messages,
    negotiations,
    consents,
    certificates: { trustList, issuers, index: certificateIndex, issuer, statusLists, verifier },
    calendar,
    identity,
    clock,
    replica,
    oidcKeys:
      config.node.role === 'hub'
        ? () => {
            if (!oidcKeys) {
              const pending = loadOrCreateOidcKeys(config);
              oidcKeys = pending;
              // A failed read is tried again at the next use.
              pending.catch(() => {
                if (oidcKeys === pending) oidcKeys = undefined;
              });
            }
            return oidcKeys;
          }
        : undefined,
    catalog,
    entry,
    async start(endpoint: string) {
      identity.setEndpoint(endpoint);
      issuer.setEndpoint(endpoint);
      if (config.node.role === 'hub') {
        hubDirectory = new HubDirectory({
          store,
          hubKey: keys.current(),
          self: entry(endpoint),
          snapshotTtlSeconds: config.directory.snapshotTtlSeconds,
          clock,
          // An approved rotation of an issuer's key retires its old certificate key in the same transaction.
          onRotationApproved: (tx, rotation) => issuers!.keyRotated(tx, rotation),
        });
        hubReady = hubDirectory;
      }
      jobs = await startBackgroundJobs(runtime, endpoint, log);
    },
    async close() {
      await jobs?.stop();
      await messages.stop();
      directoryClient?.stop();
      // The last word to the hub: a checkpoint of the final head, before the store closes, so a
      // tail truncated or rewritten while the node is down cannot go unnoticed.
      await jobs?.checkpoint().catch((error: unknown) => log(`final audit checkpoint failed: ${error instanceof Error ? error.message : String(error)}`));
      // Another replica takes the periodic work over at its next tick rather than after the lease.
      await jobs?.release().catch((error: unknown) => log(`releasing the periodic-work lease failed: ${error instanceof Error ? error.message : String(error)}`));
      await stopCaseEvents().catch(() => {});
      await stopLifecycleEvents().catch(() => {});
      await services.close();
      if (readStore !== store) await readStore.close();
      await store.close();
    },
  };
  return runtime;
}

/**
 * The node's database, which `tongban init` created: an empty one (a file truncated to zero
 * bytes, a dropped schema) or another node's is refused, never taken for a fresh start.
 */
async function openExistingStore(config: NodeConfig, clock: () => Date): Promise<Store> {
  const store = await openStore({ url: config.database.url, clock, mustExist: true });
  const node = await store.settings.get<{ division?: string }>('node').catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  if (node?.division !== config.node.division) {
    await store.close();
    const where = describeDatabase(config.database.url);
    throw new TongbanError(
      'DATABASE_INVALID',
      node
        ? `The database ${where} belongs to node ${node.division ?? '(unknown)'}, not to ${config.node.division} of ${config.configPath}; point database.url at this node's own database.`
        : `The database ${where} holds no node record although this node was set up with it: it was emptied or replaced. Restore it from a backup.`,
    );
  }
  return store;
}

/** The read replica: read-only, and a copy of this node's own database (its node record says so). */
async function openExistingReadStore(config: NodeConfig, url: string, clock: () => Date): Promise<Store> {
  const store = await openReadStore({ url, primaryUrl: config.database.url, clock });
  const node = await store.settings.get<{ division?: string }>('node').catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  if (node?.division !== config.node.division) {
    await store.close();
    throw new TongbanError(
      'DATABASE_INVALID',
      `The read database ${describeDatabase(url)} is not a replica of ${config.node.division}'s database (it holds ${node ? `node ${node.division ?? '(unknown)'}` : 'no node record'}); point it at a replica of ${describeDatabase(config.database.url)}.`,
    );
  }
  return store;
}

export function loadSigningKey(config: NodeConfig): SigningKey {
  return readSigningKeyFile(config, keyFiles(config).current, 'signing key');
}

function readSecret(file: string, what: string): string {
  try {
    const value = readFileSync(file, 'utf8').trim();
    if (value.length < 16) throw new Error('short');
    return value;
  } catch {
    throw new TongbanError('CONFIG_INVALID', `Cannot read the ${what} file ${file}; re-create the node with "tongban init".`);
  }
}
