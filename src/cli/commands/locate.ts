import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, type NodeConfig } from '../../config/index.ts';
import { TongbanError } from '../../errors/index.ts';
import { CONFIG_FILE_NAME } from '../../node/index.ts';

/** Finds a node of a federation folder by division code ("hub" for the hub). */
export function locateNode(federationDir: string, node: string): NodeConfig {
  const dir = resolve(federationDir);
  const candidates = node === 'hub' ? [join(dir, 'hub')] : [join(dir, node), join(dir, 'hub')];
  for (const candidate of candidates) {
    const path = join(candidate, CONFIG_FILE_NAME);
    if (!existsSync(path)) continue;
    const config = loadConfig(path, {});
    if (node === 'hub' || config.node.division === node) return config;
  }
  // A node set up into the folder under another name (tongban init --dir <federation>/<name>).
  if (node !== 'hub' && existsSync(dir)) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name, CONFIG_FILE_NAME);
      if (!entry.isDirectory() || !existsSync(path)) continue;
      try {
        const config = loadConfig(path, {});
        if (config.node.division === node) return config;
      } catch {
        // another folder's broken config is not this node's problem
      }
    }
  }
  throw new TongbanError('CONFIG_INVALID', `No node ${node} in ${dir}; start the federation first (npm start) or pass --federation.`);
}

export function endpointOf(config: NodeConfig): string {
  return config.server.publicUrl ?? `http://${config.server.host}:${config.server.port}`;
}

export function operatorTokenOf(config: NodeConfig): string {
  return readFileSync(config.operatorTokenFile, 'utf8').trim();
}
