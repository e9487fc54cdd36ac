import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { NodeConfig } from '../config/index.ts';
import { generateSigningKey, signingKeyFromJwk, type SigningKey, type SigningKeySource } from '../crypto/index.ts';
import { TongbanError } from '../errors/index.ts';

/** The key files of a node: the signing key, the key a pending rotation asks for, and the one it replaced. */
export function keyFiles(config: NodeConfig): { current: string; pending: string; previous: string } {
  const base = config.keyFile.replace(/\.json$/, '');
  return { current: config.keyFile, pending: `${base}.pending.json`, previous: `${base}.previous.json` };
}

/**
 * The node's signing keys, in their 0600 files (never in the database): the key it signs with
 * and, during a rotation, the new key waiting for the hub administrator's approval. Everything
 * that signs reads `current()` at each use, so promoting the pending key takes effect at once,
 * without a restart.
 */
export class KeyRing implements SigningKeySource {
  readonly #config: NodeConfig;
  #current: SigningKey;
  #pending: SigningKey | undefined;

  constructor(config: NodeConfig) {
    this.#config = config;
    const files = keyFiles(config);
    this.#current = readSigningKeyFile(config, files.current, 'signing key');
    this.#pending = existsSync(files.pending) ? readSigningKeyFile(config, files.pending, 'pending signing key') : undefined;
  }

  current(): SigningKey {
    return this.#current;
  }

  pending(): SigningKey | undefined {
    return this.#pending;
  }

  /** The pending key, created (of the node's algorithm) and written to its own 0600 file if there is none. */
  async preparePending(): Promise<SigningKey> {
    if (this.#pending) return this.#pending;
    const key = await generateSigningKey(this.#config.keys.algorithm, this.#config.node.division);
    writeKeyFile(keyFiles(this.#config).pending, key);
    this.#pending = key;
    return key;
  }

  /**
   * The pending key becomes the signing key: the old key file is kept as the previous one, then
   * the pending file is renamed over the key file (one atomic step; a crash in between leaves
   * the pending file, and the next start promotes it again). Returns the replaced key.
   */
  promote(): SigningKey {
    const pending = this.#pending;
    if (!pending) throw new TongbanError('INTERNAL', 'There is no pending signing key to promote.');
    const files = keyFiles(this.#config);
    writeKeyFile(files.previous, this.#current);
    renameSync(files.pending, files.current);
    const replaced = this.#current;
    this.#current = pending;
    this.#pending = undefined;
    return replaced;
  }

  /** A refused rotation: its private key is of no further use and is deleted. */
  discardPending(): void {
    rmSync(keyFiles(this.#config).pending, { force: true });
    this.#pending = undefined;
  }
}

/** Writes a key file readable by its owner only, atomically (a temporary file renamed into place). */
function writeKeyFile(file: string, key: SigningKey): void {
  const temporary = `${file}.tmp`;
  rmSync(temporary, { force: true });
  writeFileSync(temporary, JSON.stringify({ kid: key.kid, privateJwk: key.privateJwk }, null, 2) + '\n', { mode: 0o600 });
  renameSync(temporary, file);
}

/** Reads a signing key file of this node; the key must be of the node's configured algorithm. */
export function readSigningKeyFile(config: NodeConfig, file: string, what: string): SigningKey {
  return loadJsonKey(file, what, (raw) => {
    const key = signingKeyFromJwk(config.node.division, raw.privateJwk);
    if (key.algorithm !== config.keys.algorithm) throw new Error('algorithm mismatch');
    return key;
  });
}

export function loadJsonKey<T>(file: string, what: string, build: (raw: { privateJwk?: unknown }) => T): T {
  let raw: { privateJwk?: unknown };
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as { privateJwk?: unknown };
  } catch {
    throw new TongbanError('CONFIG_INVALID', `Cannot read the ${what} file ${file}.`);
  }
  try {
    return build(raw);
  } catch {
    throw new TongbanError('CONFIG_INVALID', `The ${what} file ${file} does not hold a valid key.`);
  }
}
