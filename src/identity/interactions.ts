import type { IncomingMessage, ServerResponse } from 'node:http';
import { subjectHash } from '../audit/entry.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Store } from '../store/index.ts';
import { escapeHtml, type Provider } from './oidc-provider.ts';
import { verifyPassword } from './password.ts';
import { normaliseLogin } from './people.ts';

/** Failed sign-ins per login from one address within the window before that pair is locked for the rest of it. */
export const MAX_FAILED_LOGINS = 5;
/** Failed sign-ins per login from every address together: the cap on guessing one password from many addresses. */
export const MAX_FAILED_LOGINS_PER_LOGIN = 50;
export const FAILED_LOGIN_WINDOW_MS = 15 * 60_000;

/**
 * Failed sign-ins counted twice: per login and address (five), so a stranger's guesses do not lock
 * the person out from their own machine, and per login from every address (fifty), so a password
 * guessed from many addresses is still capped. In the database (`login_failures`), so guesses
 * spread over the hub's replicas count together and a restart does not clear them. Logins and
 * addresses are kept as keyed hashes only.
 */
export class LoginThrottle {
  readonly #store: Store;
  readonly #clock: () => Date;
  readonly #key: Uint8Array;

  constructor(store: Store, clock: () => Date, key: Uint8Array) {
    this.#store = store;
    this.#clock = clock;
    this.#key = key;
  }

  /**
   * Takes one attempt for this login from this address, in one statement per counter (checked and
   * counted together, at whichever replica): false when either is locked. The attempt counts as
   * failed until `succeeded` says otherwise, so guesses sent concurrently cannot all pass the
   * check before any is counted.
   */
  async attempt(login: string, address: string): Promise<boolean> {
    const now = this.#clock().getTime();
    if (!(await this.#store.loginFailures.attempt(this.#pair(login, address), now, FAILED_LOGIN_WINDOW_MS, MAX_FAILED_LOGINS))) return false;
    return this.#store.loginFailures.attempt(this.#hash(login), now, FAILED_LOGIN_WINDOW_MS, MAX_FAILED_LOGINS_PER_LOGIN);
  }

  /** The person signed in from this address: its count starts again (the count over every address runs out with its window). */
  succeeded(login: string, address: string): Promise<void> {
    return this.#store.loginFailures.clear(this.#pair(login, address));
  }

  /** Forgets windows that have ended (periodic clean-up). */
  purge(): Promise<void> {
    return this.#store.loginFailures.purge(this.#clock().getTime() - FAILED_LOGIN_WINDOW_MS);
  }

  #hash(login: string): string {
    return subjectHash(this.#key, 'login-failures', login);
  }

  #pair(login: string, address: string): string {
    return subjectHash(this.#key, 'login-failures-from', `${login}\n${address}`);
  }
}

export interface InteractionOptions {
  readonly provider: Provider;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly auditKey: Uint8Array;
  readonly throttle: LoginThrottle;
  /** `/oidc`: where the pages are served. */
  readonly mount: string;
  /** The caller's address as the server determined it; the socket's when absent. */
  readonly clientAddress?: string | undefined;
}

const FORM_LIMIT = 8 * 1024;

/**
 * The hub's interaction pages at `/oidc/interaction/:uid`: GET shows the sign-in form, POST
 * checks login and password. A wrong password shows the form again with an error and is audited
 * (with a keyed hash of the login, never the login, the password or an ID number). Consent is
 * never asked: every client is a node of the federation or the CLI (first-party).
 */
export async function handleInteraction(options: InteractionOptions, req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
  const { provider } = options;
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    return page(res, 400, expiredPage());
  }
  if (details.uid !== uid) return page(res, 400, expiredPage());
  const client = details.params.client_id ? await provider.Client.find(String(details.params.client_id)) : undefined;
  const clientName = client?.clientName ?? String(details.params.client_id ?? '');
  if (details.prompt.name === 'consent') {
    // First-party clients: what they asked for is granted (loadExistingGrant normally does this already).
    const { Grant } = provider;
    const accountId = details.session?.accountId;
    const clientId = String(details.params.client_id);
    let grant = details.grantId ? await Grant.find(details.grantId) : undefined;
    grant ??= new Grant({ accountId: accountId!, clientId });
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  const action = `${options.mount}/interaction/${encodeURIComponent(uid)}`;
  if (req.method === 'GET') return page(res, 200, loginPage({ action, clientName }));
  if (req.method !== 'POST') return page(res, 405, expiredPage());
  const form = await readForm(req);
  if (!form) return page(res, 400, loginPage({ action, clientName, error: 'invalid' }));
  const login = normaliseLogin(form.get('login') ?? '');
  const password = form.get('password') ?? '';
  const clientId = String(details.params.client_id ?? '');
  const hashOf = () => subjectHash(options.auditKey, 'login', login);
  if (login === '' || password === '') return page(res, 200, loginPage({ action, clientName, login, error: 'invalid' }));
  // Taken before the password is checked: concurrent guesses count at once.
  // The address the server determined (a trusted front's X-Forwarded-For, server.trustProxy), else the socket's.
  const address = options.clientAddress ?? req.socket.remoteAddress ?? 'unknown';
  if (!(await options.throttle.attempt(login, address))) {
    await options.audit.append({ kind: 'identity.login', outcome: 'refused', code: 'LOGIN_LOCKED', subjectHash: hashOf(), detail: { client: clientId.slice(0, 40) } });
    return page(res, 429, loginPage({ action, clientName, login, error: 'locked' }));
  }
  const person = await options.store.people.byLogin(login);
  const ok = await verifyPassword(password, person?.passwordHash);
  if (!ok || !person || person.disabled) {
    await options.audit.append({ kind: 'identity.login', outcome: 'refused', code: 'LOGIN_FAILED', subjectHash: hashOf(), detail: { client: clientId.slice(0, 40) } });
    return page(res, 401, loginPage({ action, clientName, login, error: 'invalid' }));
  }
  await options.throttle.succeeded(login, address);
  await options.audit.append({ kind: 'identity.login', outcome: 'allowed', subjectHash: hashOf(), detail: { client: clientId.slice(0, 40), kind: person.kind, ...(person.node ? { node: person.node } : {}) } });
  await provider.interactionFinished(req, res, { login: { accountId: person.id } }, { mergeWithLastSubmission: false });
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > FORM_LIMIT) return undefined;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function page(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  // No scripts, no external assets, not framable.
  res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'");
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.end(html);
}

const STYLE = 'body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#222}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}button{margin-top:1rem;padding:.5rem 1.2rem}.error{color:#b00020;border:1px solid #b00020;padding:.5rem}';

const ERRORS = {
  invalid: '登录名或密码错误。 Wrong login or password.',
  locked: '失败次数过多，请稍后再试。 Too many failed attempts for this login; try again later.',
} as const;

export function loginPage(o: { action: string; clientName: string; login?: string; error?: keyof typeof ERRORS }): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>登录 · Sign in — 通办 Tongban</title><style>${STYLE}</style></head>
<body><h1>登录 · Sign in</h1>
<p>登录以继续使用 ${escapeHtml(o.clientName)}<br>Sign in to continue to ${escapeHtml(o.clientName)}</p>
${o.error ? `<p class="error" role="alert">${ERRORS[o.error]}</p>` : ''}
<form method="post" action="${escapeHtml(o.action)}" autocomplete="on">
<label for="login">登录名（身份证号或工作人员账号） · Login (ID number or staff login)</label>
<input id="login" name="login" required autocomplete="username" value="${escapeHtml(o.login ?? '')}">
<label for="password">密码 · Password</label>
<input id="password" name="password" type="password" required autocomplete="current-password">
<button type="submit">登录 · Sign in</button>
</form></body></html>`;
}

function expiredPage(): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>登录已过期 · Sign-in expired</title><style>${STYLE}</style></head><body><h1>登录已过期 · Sign-in expired</h1><p>请返回原网站重新登录。<br>Go back to the site you came from and sign in again.</p></body></html>`;
}
