import { fetch as undiciFetch, type Dispatcher } from 'undici';
import * as oidc from 'openid-client';

/**
 * A browser for sign-in tests: a small cookie jar (name, path; Max-Age/Expires honoured) and
 * redirects followed by hand, so a test sees every hop and stops at the relying party's callback.
 */
export class Browser {
  readonly #cookies = new Map<string, { name: string; value: string; path: string }>();

  /** `dispatcher`: undici's, e.g. an Agent with a `localAddress`, for a browser on another loopback address. */
  constructor(readonly dispatcher?: Dispatcher) {}

  cookieHeader(url: URL): string {
    return [...this.#cookies.values()]
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  take(url: URL, response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [key, v = ''] = attribute.split('=');
        if (key!.toLowerCase() === 'path') path = v;
        if (key!.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (key!.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      if (expired) this.#cookies.delete(`${name} ${path}`);
      else this.#cookies.set(`${name} ${path}`, { name, value, path });
    }
  }

  async fetch(url: URL, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const cookie = this.cookieHeader(url);
    const request = {
      method: init.method ?? 'GET',
      redirect: 'manual' as const,
      headers: { ...(cookie ? { cookie } : {}), ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    };
    const response = this.dispatcher ? ((await undiciFetch(url, { ...request, dispatcher: this.dispatcher })) as unknown as Response) : await fetch(url, request);
    this.take(url, response);
    return response;
  }
}

/** The hub answered the sign-in form again: wrong password, locked login… (status and page kept). */
export class SignInRefused extends Error {
  constructor(
    readonly status: number,
    readonly page: string,
  ) {
    super(`the hub refused the sign-in (${status})`);
  }
}

export interface SignInOptions {
  /** A node's division (its client_id at the hub: tokens for that node only), or `tongban-cli` (tokens for the federation). */
  readonly clientId: string;
  /** That node's callback: `<node endpoint>/v1/auth/callback`; for the CLI a loopback address (`cliClient`). */
  readonly redirectUri: string;
  /** Reuse a browser (its hub session): no password is asked while the session lasts. */
  readonly browser?: Browser;
  readonly scope?: string;
  /** Extra parameters of the code exchange at the token endpoint (e.g. a `resource`). */
  readonly tokenParameters?: Record<string, string>;
}

export interface SignedIn {
  readonly accessToken: string;
  readonly idToken: string;
  /** The ID token's claims. */
  readonly claims: Record<string, unknown>;
  readonly browser: Browser;
  /** How many times the sign-in form was submitted (0: the hub session was enough). */
  readonly passwordPrompts: number;
}

/**
 * The CLI's client (`tongban-cli`) with a loopback redirect on `port` (RFC 8252 §7.3: any port):
 * its access tokens are the person's own credential, for the federation — taken at every node and
 * the hub. A node's client gets tokens for that node only.
 */
export function cliClient(port = 49152 + Math.floor(Math.random() * 16000)): { clientId: string; redirectUri: string } {
  return { clientId: 'tongban-cli', redirectUri: `http://127.0.0.1:${port}/callback` };
}

/**
 * Signs in at the hub's OpenID Connect provider the way a person does through a node (or the CLI): the node
 * (openid-client, public client with PKCE) builds the authorization URL, the browser follows
 * redirects and fills the hub's form, and the code is taken from the redirect to the node's
 * callback (the node itself is not called) and exchanged by the node client. The access token is
 * for that node only (`urn:tongban:node:<division>`); with `cliClient()` for the federation.
 */
export async function signIn(hubUrl: string, login: string, password: string | undefined, options: SignInOptions): Promise<SignedIn> {
  const issuer = new URL(`${hubUrl.replace(/\/+$/, '')}/oidc`);
  const config = await oidc.discovery(issuer, options.clientId, undefined, oidc.None(), issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const authorizationUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: options.redirectUri,
    scope: options.scope ?? 'openid profile tongban',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const browser = options.browser ?? new Browser();
  let url = authorizationUrl;
  let prompts = 0;
  let response = await browser.fetch(url);
  for (let hops = 0; hops < 20; hops++) {
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, url);
      if (next.toString().startsWith(options.redirectUri)) {
        const tokens = await oidc.authorizationCodeGrant(config, next, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }, options.tokenParameters);
        return { accessToken: tokens.access_token, idToken: tokens.id_token!, claims: { ...tokens.claims() }, browser, passwordPrompts: prompts };
      }
      url = next;
      response = await browser.fetch(url);
      continue;
    }
    const page = await response.text();
    const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1];
    if (!action) throw new SignInRefused(response.status, page);
    if (prompts > 0) throw new SignInRefused(response.status, page);
    if (password === undefined) throw new SignInRefused(response.status, page);
    prompts += 1;
    url = new URL(action.replace(/&amp;/g, '&'), url);
    response = await browser.fetch(url, { method: 'POST', form: { login, password } });
  }
  throw new Error('sign-in: too many redirects');
}

/**
 * The person at the browser in the device flow (`tongban login`): opens the page the CLI printed,
 * enters the code when asked, confirms it on the confirmation page (or cancels, `cancel`) and
 * signs in with the hub's form. Answers the last page (the one saying to go back to the
 * terminal) and every page seen (`onPage` sees each as it comes). A refusal by the hub (a page
 * with `role="alert"`: a wrong code, a wrong password) throws SignInRefused, or is answered as the
 * last page with `refusal: 'answer'`.
 */
export async function approveDevice(
  url: string,
  code: string,
  login: string,
  password: string,
  options: { cancel?: boolean; refusal?: 'throw' | 'answer'; onPage?: (response: Response, page: string) => void } = {},
): Promise<{ status: number; page: string; pages: string[] }> {
  const browser = new Browser();
  const hidden = (page: string, name: string) => new RegExp(`name="${name}"[^>]*?value="([^"]*)"`).exec(page)?.[1];
  const pages: string[] = [];
  let at = new URL(url);
  let response = await browser.fetch(at);
  for (let hops = 0; hops < 12; hops++) {
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      at = new URL(location, at);
      response = await browser.fetch(at);
      continue;
    }
    const page = await response.text();
    pages.push(page);
    options.onPage?.(response, page);
    const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1]?.replace(/&amp;/g, '&');
    if (!action) return { status: response.status, page, pages };
    if (page.includes('role="alert"')) {
      if (options.refusal === 'answer') return { status: response.status, page, pages };
      throw new SignInRefused(response.status, page);
    }
    const target = new URL(action, at);
    if (page.includes('name="password"')) response = await browser.fetch(target, { method: 'POST', form: { login, password } });
    else if (page.includes('name="confirm"')) {
      if (!page.includes(code)) throw new Error(`the confirmation page does not show the code ${code}`);
      response = await browser.fetch(target, { method: 'POST', form: { xsrf: hidden(page, 'xsrf')!, user_code: hidden(page, 'user_code')!, ...(options.cancel ? { abort: 'yes' } : { confirm: 'yes' }) } });
    } else response = await browser.fetch(target, { method: 'POST', form: { xsrf: hidden(page, 'xsrf')!, user_code: hidden(page, 'user_code') || code } });
    at = target;
  }
  throw new Error('device sign-in: too many pages');
}
