import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import type { Store } from '../store/index.ts';
import { Person } from './person.ts';

/**
 * The node's session cookie: `tongban_session_<division>`. Named per node because browsers keep
 * cookies per host, not per port: nodes sharing a host (the demo, a gateway) would otherwise
 * overwrite each other's sessions and be sent each other's session ids.
 */
export function sessionCookieName(division: string): string {
  return `tongban_session_${division}`;
}

/** A session ends after this long without a request … */
export const SESSION_IDLE_MS = 30 * 60_000;
/** … and at the latest this long after sign-in, however busy. */
export const SESSION_MAX_MS = 8 * 3600_000;
/** The idle expiry is moved forward at most once a minute (not one write per request). */
const TOUCH_EVERY_MS = 60_000;

/** SHA-256 (hex) of a secret the caller holds: what the store keeps instead of the secret. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The cookies of a request's Cookie header (first value of each name wins; values are not decoded). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const name = part.slice(0, at).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(at + 1).trim());
  }
  return cookies;
}

/** The Set-Cookie value of a session: HttpOnly, Path=/, SameSite=Lax, Secure on https. */
export function sessionCookie(id: string, options: { node: string; secure: boolean; maxAgeSeconds: number }): string {
  return `${sessionCookieName(options.node)}=${id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${options.maxAgeSeconds}${options.secure ? '; Secure' : ''}`;
}

/**
 * The cookie that binds a sign-in to the browser that started it (login CSRF): set by
 * `GET /v1/auth/login`, sent back to `GET /v1/auth/callback`. A callback URL opened by any other
 * browser (a link an attacker signed in with their own account) finds no sign-in.
 */
export function loginBindingCookieName(division: string): string {
  return `tongban_login_${division}`;
}
/** As long as a sign-in may take (the relying party's login state lives as long). */
export const LOGIN_BINDING_MAX_AGE_SECONDS = 600;
const LOGIN_BINDING = /^[A-Za-z0-9_-]{43}$/;

/**
 * The browser's sign-in binding: the one its cookie holds (so sign-ins started in two tabs both
 * complete), or a new random one (256 bits). `fresh` says whether the cookie must be set.
 */
export function loginBinding(cookieHeader: string | undefined, node: string): { value: string; fresh: boolean } {
  const given = parseCookies(cookieHeader).get(loginBindingCookieName(node));
  if (given !== undefined && LOGIN_BINDING.test(given)) return { value: given, fresh: false };
  return { value: randomBytes(32).toString('base64url'), fresh: true };
}

/** The binding the callback's request carries (undefined: none, or not one this node sets). */
export function loginBindingOf(cookieHeader: string | undefined, node: string): string | undefined {
  const given = parseCookies(cookieHeader).get(loginBindingCookieName(node));
  return given !== undefined && LOGIN_BINDING.test(given) ? given : undefined;
}

/** The Set-Cookie value of the binding: HttpOnly, SameSite=Lax (sent on the hub's top-level redirect back), the sign-in routes only. */
export function loginBindingCookie(value: string, options: { node: string; secure: boolean }): string {
  return `${loginBindingCookieName(options.node)}=${value}; Path=/v1/auth/; HttpOnly; SameSite=Lax; Max-Age=${LOGIN_BINDING_MAX_AGE_SECONDS}${options.secure ? '; Secure' : ''}`;
}

/** The Set-Cookie value that removes the session cookie. */
export function clearedSessionCookie(options: { node: string; secure: boolean }): string {
  return sessionCookie('', { ...options, maxAgeSeconds: 0 });
}

/**
 * A node's sessions: a random id in the cookie (256 bits), its SHA-256 in the store with the person
 * the hub's ID token proved; idle and absolute expiry checked at every use.
 */
export class NodeSessions {
  readonly #store: Store;
  readonly #clock: () => Date;

  constructor(store: Store, clock: () => Date) {
    this.#store = store;
    this.#clock = clock;
  }

  /**
   * Opens a session. `hubToken`: a citizen's hub access token from the sign-in (issued to this
   * node's client) with its expiry, kept sealed (sealHubToken) for the node's relay to the hub.
   */
  async create(person: Person, hubToken?: { token: string; expiresAt: number }): Promise<{ id: string; maxAgeSeconds: number }> {
    const id = randomBytes(32).toString('base64url');
    const now = this.#clock().getTime();
    const sealed = hubToken && hubToken.expiresAt > now ? { sealed: sealHubToken(id, hubToken.token), expiresAt: hubToken.expiresAt } : undefined;
    await this.#store.sessions.add({ idHash: secretHash(id), subject: person.subject, person, createdAt: new Date(now).toISOString(), idleExpiresAt: now + SESSION_IDLE_MS, expiresAt: now + SESSION_MAX_MS, hubToken: sealed });
    // Best effort: expired sessions and abandoned sign-ins do not pile up.
    await this.#store.sessions.purge(now).catch(() => 0);
    return { id, maxAgeSeconds: Math.floor(SESSION_MAX_MS / 1000) };
  }

  /** The person of a live session (undefined when unknown, idle too long or past its end). */
  async resolve(id: string): Promise<Person | undefined> {
    // Only ever hashed: any bytes the caller sends are never compared or measured.
    const idHash = secretHash(id);
    const session = await this.#store.sessions.get(idHash);
    if (!session) return undefined;
    const now = this.#clock().getTime();
    if (now >= session.expiresAt || now >= session.idleExpiresAt) {
      await this.#store.sessions.remove(idHash);
      return undefined;
    }
    const parsed = Person.safeParse(session.person);
    if (!parsed.success) return undefined;
    const idle = Math.min(now + SESSION_IDLE_MS, session.expiresAt);
    if (idle - session.idleExpiresAt >= TOUCH_EVERY_MS) await this.#store.sessions.touch(idHash, idle);
    return { ...parsed.data, via: 'session' };
  }

  /**
   * The hub access token of a live session, unsealed with its id (undefined when the session is
   * unknown or over, carries none, or the token has expired: it is never refreshed, so a session
   * cookie relays nothing to the hub past the token's own expiry).
   */
  async hubToken(id: string): Promise<string | undefined> {
    if (!(await this.resolve(id))) return undefined;
    const session = await this.#store.sessions.get(secretHash(id));
    if (!session?.hubToken || this.#clock().getTime() >= session.hubToken.expiresAt) return undefined;
    return openHubToken(id, session.hubToken.sealed);
  }

  async destroy(id: string): Promise<boolean> {
    return this.#store.sessions.remove(secretHash(id));
  }
}

/** The key a session's hub token is sealed with: derived from the session id (the cookie's secret), which the store never holds. */
function sealingKey(sessionId: string): Buffer {
  return createHmac('sha256', sessionId).update('tongban session hub token v1', 'utf8').digest();
}

/** AES-256-GCM under the session's key: `<iv>.<ciphertext>.<tag>` (base64url). A copy of the store alone opens nothing. */
export function sealHubToken(sessionId: string, token: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(sessionId), iv);
  const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return [iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url')).join('.');
}

/** The token `sealHubToken` sealed for this session id; undefined when it does not open (another session's, altered). */
export function openHubToken(sessionId: string, sealed: string): string | undefined {
  const [iv, body, tag] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  if (!iv || !body || !tag || iv.length !== 12 || tag.length !== 16) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(sessionId), iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
