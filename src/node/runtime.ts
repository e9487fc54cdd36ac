import { readFileSync } from 'node:fs';
import { Catalog } from '../catalog/index.ts';
import { loadConfig, type NodeConfig } from '../config/index.ts';
import { signingKeyFromJwk, type SigningKey } from '../crypto/index.ts';
import { TongbanError } from '../errors/index.ts';
import { openStore, type Store } from '../store/index.ts';

/** Everything a running node holds: its frozen config, store, signing key and catalogue. */
export interface NodeRuntime {
  readonly config: NodeConfig;
  readonly store: Store;
  readonly signingKey: SigningKey;
  catalog(): Promise<Catalog>;
  close(): Promise<void>;
}

export async function openNode(configPath: string): Promise<NodeRuntime> {
  const config = loadConfig(configPath);
  const signingKey = loadSigningKey(config);
  const store = await openStore({ url: config.database.url });
  return {
    config,
    store,
    signingKey,
    async catalog() {
      return new Catalog(await store.catalogItems.list());
    },
    close: () => store.close(),
  };
}

export function loadSigningKey(config: NodeConfig): SigningKey {
  let raw: { privateJwk?: unknown };
  try {
    raw = JSON.parse(readFileSync(config.keyFile, 'utf8')) as { privateJwk?: unknown };
  } catch {
    throw new TongbanError('CONFIG_INVALID', `Cannot read the signing key file ${config.keyFile}.`);
  }
  try {
    const key = signingKeyFromJwk(config.node.division, raw.privateJwk);
    if (key.algorithm !== config.keys.algorithm) throw new Error('algorithm mismatch');
    return key;
  } catch {
    throw new TongbanError('CONFIG_INVALID', `The signing key file ${config.keyFile} does not hold a valid ${config.keys.algorithm} key.`);
  }
}
