import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CONFIG_FILE_NAME, ConfigFile, loadConfig, NATIONAL_DIVISION, type NodeConfig, type NodeRole } from '../config/index.ts';
import { generateEncryptionKey, generateSigningKey, type PublicJwk, type SigningAlgorithm } from '../crypto/index.ts';
import type { ServiceConfig } from '../services/index.ts';
import { TongbanError, validationError } from '../errors/index.ts';
import { divisions } from '../standards/index.ts';
import { openStore } from '../store/index.ts';
import { loadOrCreateOidcKeys } from '../identity/oidc-keys.ts';

export interface InitNodeOptions {
  readonly dir: string;
  readonly division: string;
  readonly name?: string;
  readonly role?: NodeRole;
  readonly algorithm?: SigningAlgorithm;
  readonly port?: number;
  readonly host?: string;
  /** Defaults to an SQLite file in the node's folder. */
  readonly databaseUrl?: string;
  /** For nodes: the hub and its signing key, pinned as the trust anchor. */
  readonly hub?: { readonly url: string; readonly kid: string; readonly jwk: PublicJwk };
  readonly services?: readonly ServiceConfig[];
  readonly directory?: { readonly refreshSeconds?: number; readonly snapshotTtlSeconds?: number };
  readonly audit?: { readonly checkpointSeconds?: number };
  /** E-certificates (see the config's `certificates`). */
  readonly certificates?: { readonly statusMaxAgeSeconds?: number; readonly statusListTtlSeconds?: number };
  /** Limits on unauthenticated routes (see the config's `server.rateLimit`). */
  readonly rateLimit?: { readonly enabled?: boolean; readonly windowSeconds?: number; readonly max?: number; readonly enrolmentMax?: number };
  readonly clock?: () => Date;
  /** Marks the node as demo material (keys, tokens, sample registries): it warns at every start. */
  readonly demo?: boolean;
}

export interface InitNodeResult {
  readonly configPath: string;
  readonly division: string;
  readonly name: string;
  readonly role: NodeRole;
  readonly kid: string;
  readonly algorithm: SigningAlgorithm;
  readonly database: string;
}

export { CONFIG_FILE_NAME } from '../config/index.ts';

/**
 * Creates a node: its config file, its signing key pair (private half in a 0600 key file)
 * and its migrated database, which records the node's identity and public key.
 */
export async function initNode(options: InitNodeOptions): Promise<InitNodeResult> {
  const dir = resolve(options.dir);
  const configPath = join(dir, CONFIG_FILE_NAME);
  if (existsSync(configPath)) {
    throw new TongbanError('NODE_ALREADY_INITIALISED', `A node is already set up in ${dir}; remove it first or pick another folder.`);
  }
  const role = options.role ?? 'node';
  const name = options.name ?? defaultName(options.division, role);
  const algorithm = options.algorithm ?? 'Ed25519';
  const file = {
    node: { division: options.division, name, role },
    server: { host: options.host ?? '127.0.0.1', port: options.port ?? (role === 'hub' ? 7700 : 7701), ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}) },
    database: { url: options.databaseUrl ?? 'sqlite:data/node.sqlite' },
    keys: { algorithm, file: 'keys/signing-key.json' },
    ...(options.hub ? { hub: options.hub } : {}),
    ...(options.directory ? { directory: options.directory } : {}),
    ...(options.audit ? { audit: options.audit } : {}),
    ...(options.certificates ? { certificates: options.certificates } : {}),
    ...(options.services ? { services: options.services } : {}),
    ...(options.demo ? { demo: true } : {}),
  };
  // Validate before touching the disk, so a bad division leaves nothing behind.
  const checked = ConfigFile.safeParse(file);
  if (!checked.success) throw validationError(checked.error);

  const key = await generateSigningKey(algorithm, options.division);
  const encryptionKey = await generateEncryptionKey(options.division);
  mkdirSync(join(dir, 'keys'), { recursive: true, mode: 0o700 });
  const secret = (name: string, content: string) => writeFileSync(join(dir, 'keys', name), content, { mode: 0o600 });
  secret('signing-key.json', JSON.stringify({ kid: key.kid, privateJwk: key.privateJwk }, null, 2) + '\n');
  secret('encryption-key.json', JSON.stringify({ kid: encryptionKey.kid, privateJwk: encryptionKey.privateJwk }, null, 2) + '\n');
  secret('audit-key', randomBytes(32).toString('hex') + '\n');
  // Local API tokens: whoever can read the node's key folder may operate it.
  secret('operator-token', randomBytes(24).toString('base64url') + '\n');
  if (role === 'hub') secret('admin-token', randomBytes(24).toString('base64url') + '\n');
  writeFileSync(configPath, JSON.stringify(file, null, 2) + '\n');

  const config: NodeConfig = loadConfig(configPath, {});
  // The hub's OpenID Connect keys (a separate Ed25519 signing key, cookie secrets): docs/identity.md.
  if (role === 'hub') await loadOrCreateOidcKeys(config);
  const now = (options.clock ?? (() => new Date()))();
  const store = await openStore({ url: config.database.url });
  try {
    await store.transaction(async (tx) => {
      await tx.settings.put('node', { division: options.division, name, role, createdAt: now.toISOString() });
      await tx.keys.add({ kid: key.kid, alg: algorithm, publicJwk: key.publicJwk, status: 'active', createdAt: now.toISOString() });
    });
  } finally {
    await store.close();
  }
  return { configPath, division: options.division, name, role, kid: key.kid, algorithm, database: config.database.url };
}

function defaultName(division: string, role: NodeRole): string {
  if (role === 'hub' && division === NATIONAL_DIVISION) return '国家政务服务平台';
  return divisions.get(division)?.name ?? division;
}
