import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { StaffRole } from '../../identity/person.ts';
import { TongbanError } from '../../errors/index.ts';

/**
 * Where `tongban login` keeps the hub's tokens: `$TONGBAN_HOME/tokens.json` when TONGBAN_HOME is
 * set, else `$XDG_CONFIG_HOME/tongban/tokens.json`, else `~/.config/tongban/tokens.json`.
 */
export function tokenFilePath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.TONGBAN_HOME) return join(env.TONGBAN_HOME, 'tokens.json');
  const config = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(config, 'tongban', 'tokens.json');
}

/** Who signed in, as the hub's ID token says (no ID number: the access token carries it for the nodes). */
export const SignedInPerson = z.object({
  subject: z.string().min(1).max(100),
  name: z.string().min(1).max(100),
  kind: z.enum(['citizen', 'staff']),
  node: z.string().regex(/^\d{6}$/).optional(),
  roles: z.array(StaffRole).max(5),
});
export type SignedInPerson = z.infer<typeof SignedInPerson>;

/** One hub's sign-in. */
export const HubLogin = z.object({
  /** The hub's URL, without a trailing slash (the key of the file's `hubs`). */
  hub: z.url(),
  clientId: z.string(),
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1).optional(),
  /** When the access token expires (ISO 8601). */
  expiresAt: z.iso.datetime(),
  signedInAt: z.iso.datetime(),
  /** When the access token was last renewed with the refresh token. */
  refreshedAt: z.iso.datetime().optional(),
  person: SignedInPerson,
});
export type HubLogin = z.infer<typeof HubLogin>;

const TokenFileContent = z.object({ version: z.literal(1), hubs: z.record(z.string(), HubLogin) });
type TokenFileContent = z.infer<typeof TokenFileContent>;

/** A hub URL as the file keys it: no trailing slash. */
export function hubKey(hub: string): string {
  return hub.replace(/\/+$/, '');
}

/**
 * The token file: one JSON object, the sign-ins keyed by hub URL. Written whole to a new file
 * (mode 0600) then renamed over the old one, in a folder of mode 0700 created when missing; a
 * lock file serialises the changes of concurrent `tongban` processes (a refresh token is used
 * once: two processes renewing with the same one would end the sign-in).
 */
export class TokenFile {
  constructor(readonly path: string) {}

  read(): TokenFileContent {
    if (!existsSync(this.path)) return { version: 1, hubs: {} };
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch {
      throw new TongbanError('CONFIG_INVALID', `${this.path} is not a Tongban token file (not JSON); delete it and sign in again with tongban login.`);
    }
    const parsed = TokenFileContent.safeParse(raw);
    if (!parsed.success) throw new TongbanError('CONFIG_INVALID', `${this.path} is not a Tongban token file; delete it and sign in again with tongban login.`);
    return parsed.data;
  }

  get(hub: string): HubLogin | undefined {
    return this.read().hubs[hubKey(hub)];
  }

  /** Replaces (or, with undefined, removes) a hub's sign-in; the file is removed once it holds none. */
  put(hub: string, login: HubLogin | undefined): void {
    const content = this.read();
    if (login) content.hubs[hubKey(hub)] = login;
    else delete content.hubs[hubKey(hub)];
    if (Object.keys(content.hubs).length === 0) {
      rmSync(this.path, { force: true });
      return;
    }
    this.#ensureFolder();
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(content, null, 2) + '\n', { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, this.path);
  }

  /** Runs `fn` holding the file's lock (waits up to `waitMs`; a lock older than 60 s is stale). */
  async locked<T>(fn: () => Promise<T>, waitMs = 30_000): Promise<T> {
    this.#ensureFolder();
    const lock = `${this.path}.lock`;
    const until = Date.now() + waitMs;
    for (;;) {
      try {
        closeSync(openSync(lock, 'wx', 0o600));
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        try {
          if (Date.now() - statSync(lock).mtimeMs > 60_000) rmSync(lock, { force: true });
        } catch {
          // Gone in between: try again.
        }
        if (Date.now() > until) throw new TongbanError('CONFIG_INVALID', `${lock} is held by another tongban process; try again (or delete it if none runs).`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    try {
      return await fn();
    } finally {
      rmSync(lock, { force: true });
    }
  }

  #ensureFolder(): void {
    const folder = dirname(this.path);
    if (!existsSync(folder)) {
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      chmodSync(folder, 0o700);
    }
  }
}
