import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { generateSigningKey, PrivateJwk, signingKeyFromJwk, type SigningKey } from '../crypto/index.ts';
import { TongbanError } from '../errors/index.ts';
import { tokenFilePath } from './login/index.ts';

/** The owner part of a holder key's kid (`holder:<thumbprint>`). */
const HOLDER = 'holder';

const HolderKeyFile = z.object({ version: z.literal(1), privateJwk: PrivateJwk });

/**
 * Where the CLI keeps the holder's own key (certificates bound to it are presented with it): beside
 * the token file, `$TONGBAN_HOME/holder-key.json`, else `$XDG_CONFIG_HOME/tongban/`, else `~/.config/tongban/`.
 */
export function holderKeyPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return join(dirname(tokenFilePath(env)), 'holder-key.json');
}

/** The holder key of that file, or undefined when there is none yet. */
export function readHolderKey(path = holderKeyPath()): SigningKey | undefined {
  if (!existsSync(path)) return undefined;
  let parsed;
  try {
    parsed = HolderKeyFile.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) throw new TongbanError('CONFIG_INVALID', `${path} is not a Tongban holder key file; certificates bound to the key it held cannot be presented without it.`);
  return signingKeyFromJwk(HOLDER, parsed.data.privateJwk);
}

/**
 * The holder key, made on first use (Ed25519): written to a new file of mode 0600 in a folder of
 * mode 0700, then linked into place only if no key is there, so a half-written key is never read
 * and two first uses at once keep one key.
 */
export async function holderKey(path = holderKeyPath()): Promise<SigningKey> {
  const existing = readHolderKey(path);
  if (existing) return existing;
  const key = await generateSigningKey('Ed25519', HOLDER);
  const folder = dirname(path);
  if (!existsSync(folder)) {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    chmodSync(folder, 0o700);
  }
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify({ version: 1, privateJwk: key.privateJwk }, null, 2) + '\n', { mode: 0o600 });
  chmodSync(temporary, 0o600);
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another process made one first: that one is the key.
    return readHolderKey(path)!;
  } finally {
    rmSync(temporary, { force: true });
  }
  return key;
}
