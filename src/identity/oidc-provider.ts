import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as OidcModuleNamespace from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC, default as ProviderClass } from 'oidc-provider';
import type { AuditLog } from '../audit/index.ts';
import { toProblem } from '../errors/index.ts';
import type { Store } from '../store/index.ts';
import { oidcAdapterFactory, type OidcPayload } from './oidc-adapter.ts';
import type { OidcKeys } from './oidc-keys.ts';
import { FEDERATION_AUDIENCE, nodeAudience } from './hub-tokens.ts';
import { claimsOf } from './people.ts';

/** The CLI's client: the person's own terminal or agent (device authorization, authorization code to a loopback address, refresh tokens). */
export const CLI_CLIENT_ID = 'tongban-cli';
/**
 * The CLI's redirect URI for the authorization code flow (RFC 8252 §7.3): the loopback address,
 * on any port the CLI listens on for that one sign-in.
 */
export const CLI_LOOPBACK_REDIRECT = 'http://127.0.0.1/callback';
/** Where the provider is mounted in the hub's server: the issuer is `<hubUrl>/oidc`. */
export const OIDC_MOUNT = '/oidc';
export const ACCESS_TOKEN_TTL_SECONDS = 600;

type OidcModule = typeof OidcModuleNamespace;
let loaded: Promise<OidcModule> | undefined;

/**
 * oidc-provider, loaded at the hub's first OIDC request only (nodes and the CLI never load it).
 * At import it warns on every Node.js release before 22 ("Unsupported runtime"): Tongban runs
 * on Node 20.19+ and 24, where it works (test/identity-provider-*.test.ts run on both), so
 * that one line — and no other — is kept off the console while the module loads.
 */
export function loadOidcProvider(): Promise<OidcModule> {
  return (loaded ??= (async () => {
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING: Unsupported runtime')) return;
      warn.apply(console, args);
    };
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = warn;
    }
  })());
}

export interface IdentityProviderOptions {
  /** `<hubUrl>/oidc`. */
  readonly issuer: string;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly clock: () => Date;
  readonly keys: OidcKeys;
}

export type Provider = InstanceType<typeof ProviderClass>;

/**
 * The one audience a client's access tokens are for. A node's client (its division) gets tokens
 * for that node only — it can replay them nowhere else; the CLI, the person's own credential,
 * gets tokens for the federation (every node and the hub accept them).
 */
export function audienceOf(clientId: string): string {
  return clientId === CLI_CLIENT_ID ? FEDERATION_AUDIENCE : nodeAudience(clientId);
}

/** Scopes and the claims they release (ID token, userinfo, access token). */
export const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name'],
  tongban: ['tongban_kind', 'tongban_id_number', 'tongban_node', 'tongban_roles', 'tongban_login'],
} as const;

/**
 * The hub's OpenID Connect provider (docs/identity.md): people from the `people` table, state
 * in the Store, clients derived from the directory (every approved node; the CLI), PKCE (S256)
 * required, consent implicit for these first-party clients, JWT access tokens signed with the
 * hub's OIDC key (EdDSA) for one audience per client (`audienceOf`).
 */
export async function createProvider(options: IdentityProviderOptions): Promise<Provider> {
  const { default: Provider, errors } = await loadOidcProvider();
  const { store, clock, keys } = options;
  const issuer = new URL(options.issuer);
  const client = async (id: string): Promise<OidcPayload | undefined> => {
    if (!/^\d{6}$/.test(id)) return undefined;
    const node = await store.directory.get(id);
    if (!node || node.role !== 'node' || node.status !== 'approved') return undefined;
    const base = node.endpoint.replace(/\/+$/, '');
    return {
      client_id: id,
      client_name: node.name,
      application_type: 'web',
      redirect_uris: [`${base}/v1/auth/callback`],
      post_logout_redirect_uris: [`${base}/`],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'EdDSA',
    };
  };
  /** The grant a first-party client gets without asking: what it requested, within what the hub offers. */
  const grantFor = async (ctx: KoaContextWithOIDC, existingId: string | undefined) => {
    const { Grant } = ctx.oidc.provider;
    const clientId = ctx.oidc.client!.clientId;
    const accountId = ctx.oidc.session!.accountId!;
    let grant = existingId ? await Grant.find(existingId) : undefined;
    if (grant && (grant.clientId !== clientId || grant.accountId !== accountId)) grant = undefined;
    grant ??= new Grant({ clientId, accountId });
    const offered = new Set(['openid', 'profile', 'tongban', 'offline_access']);
    const scopes = [...ctx.oidc.requestParamOIDCScopes].filter((s) => offered.has(s));
    if (scopes.length > 0) grant.addOIDCScope(scopes.join(' '));
    const claims = [...ctx.oidc.requestParamClaims].filter((c) => Object.values(SCOPE_CLAIMS).some((list) => (list as readonly string[]).includes(c)));
    if (claims.length > 0) grant.addOIDCClaims(claims);
    for (const [indicator, server] of Object.entries(ctx.oidc.resourceServers ?? {})) {
      if (server.scope) grant.addResourceScope(indicator, server.scope);
    }
    await grant.save();
    return grant;
  };
  const configuration: Configuration = {
    adapter: oidcAdapterFactory({ store, clock, client }) as unknown as Configuration['adapter'],
    clients: [
      {
        client_id: CLI_CLIENT_ID,
        client_name: 'tongban CLI',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'authorization_code', 'refresh_token'],
        response_types: ['code'],
        // A native client: oidc-provider takes this loopback URI on any port (RFC 8252 §7.3), never localhost.
        redirect_uris: [CLI_LOOPBACK_REDIRECT],
        id_token_signed_response_alg: 'EdDSA',
      },
    ],
    jwks: { keys: [{ ...keys.signing }] },
    cookies: {
      keys: [...keys.cookieKeys],
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    claims: Object.fromEntries(Object.entries(SCOPE_CLAIMS).map(([scope, list]) => [scope, [...list]])),
    scopes: ['openid', 'profile', 'tongban', 'offline_access'],
    // Claims of the granted scopes go into the ID token too (nodes read them there).
    conformIdTokenClaims: false,
    clientDefaults: { id_token_signed_response_alg: 'EdDSA', grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none' },
    responseTypes: ['code'],
    pkce: { required: () => true },
    // No browser-based clients: nodes and the CLI call the token endpoint from servers and terminals.
    clientBasedCORS: () => false,
    enabledJWA: { idTokenSigningAlgValues: ['EdDSA'], userinfoSigningAlgValues: ['EdDSA'] },
    async findAccount(_ctx, sub) {
      const person = await store.people.get(sub);
      if (!person || person.disabled) return undefined;
      return { accountId: sub, claims: async () => ({ ...claimsOf(person), sub }) };
    },
    async extraTokenClaims(_ctx, token) {
      const accountId = (token as { accountId?: string }).accountId;
      if (!accountId) return undefined;
      const person = await store.people.get(accountId);
      if (!person || person.disabled) return undefined;
      const { sub: _sub, ...claims } = claimsOf(person);
      void _sub;
      // When the person last typed their password at the hub (the session's login, which a silent
      // sign-in does not renew): what a consent relayed by a node is checked against.
      const entities = (_ctx as { oidc?: { entities?: Record<string, { authTime?: unknown } | undefined> } } | undefined)?.oidc?.entities ?? {};
      const authTime = entities.AuthorizationCode?.authTime ?? entities.RefreshToken?.authTime ?? entities.DeviceCode?.authTime;
      return typeof authTime === 'number' ? { ...claims, auth_time: authTime } : claims;
    },
    async loadExistingGrant(ctx) {
      const existing = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      // Every client is first-party (a node of the federation, the CLI): consent is implicit.
      return grantFor(ctx, existing);
    },
    interactions: { url: (_ctx, interaction) => `${issuer.pathname.replace(/\/$/, '')}/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: (ctx, form, out, error) => {
          const prefill = typeof ctx.query[PREFILL_PARAM] === 'string' ? ctx.query[PREFILL_PARAM] : fieldOf(form, 'user_code');
          renderPage(ctx, '输入代码 · Enter the code', `<p>输入命令行显示的代码。<br>Enter the code the command line shows.</p>${deviceError(out, error)}${userCodeForm(ctx.oidc.urlFor('code_verification'), fieldOf(form, 'xsrf') ?? '', prefill)}`);
        },
        userCodeConfirmSource: (ctx, form, client, _deviceInfo, userCode) => {
          const name = escapeHtml(client.clientName ?? client.clientId);
          renderPage(
            ctx,
            '确认登录 · Confirm sign-in',
            `<p>${name} 请求以您的身份登录。请确认此代码与命令行显示的代码相同：<br>${name} asks to sign in as you. Check that this code is the one the command line shows:</p><p class="code"><code>${escapeHtml(userCode)}</code></p><p class="error" role="note">如果不是您本人刚在自己的终端上发起此登录（例如有人发来此链接或代码），请取消：确认后对方将以您的身份操作。<br>If you did not start this sign-in yourself, at your own terminal (someone sent you this link or code), cancel: confirming lets them act as you.</p>${confirmForm(ctx.oidc.urlFor('code_verification'), fieldOf(form, 'xsrf') ?? '', userCode)}`,
          );
        },
        successSource: (ctx) => {
          renderPage(ctx, '已登录 · Signed in', '<p>登录成功，可以返回命令行了。<br>You are signed in: go back to the command line.</p>');
        },
      },
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          renderPage(ctx, '退出 · Sign out', `<p>退出通办登录？<br>Sign out of Tongban?</p>${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">退出 · Sign out</button> <button type="submit" form="op.logoutForm">保持登录 · Stay signed in</button>`);
        },
        postLogoutSuccessSource: (ctx) => {
          renderPage(ctx, '已退出 · Signed out', '<p>您已退出。<br>You are signed out.</p>');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, client) => audienceOf(client!.clientId),
        useGrantedResource: () => true,
        // A client asking for another node's resource, or a node's client for the federation: invalid_target.
        getResourceServerInfo: (_ctx, indicator, client) => {
          const audience = audienceOf(client.clientId);
          if (indicator !== audience) throw new errors.InvalidTarget(`this client's tokens are for ${audience} only`);
          return { scope: 'tongban', audience, accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'EdDSA' } } };
        },
      },
    },
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL_SECONDS,
      AuthorizationCode: 60,
      ClientCredentials: ACCESS_TOKEN_TTL_SECONDS,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      IdToken: 600,
      Interaction: 600,
      // A working day; a person signs in again the next morning.
      Session: 10 * 3600,
      Grant: 14 * 86_400,
      RefreshToken: 14 * 86_400,
    },
    renderError: async (ctx, out) => {
      renderPage(ctx, ERROR_TITLE, errorBody(String(out.error ?? 'error'), String(out.error_description ?? '')));
    },
  };
  const provider = new Provider(issuer.toString().replace(/\/$/, ''), configuration);
  // URLs the provider writes (discovery, redirects) come from the issuer, never from request
  // headers: the dispatcher sets X-Forwarded-Host/Proto from the issuer on every request.
  provider.proxy = true;
  // A path the provider does not serve answers like every other Tongban 404: problem+json with a code.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.status === 404 && (ctx.body === undefined || ctx.body === null || ctx.body === 'Not Found')) {
      ctx.status = 404;
      ctx.type = 'application/problem+json';
      ctx.body = JSON.stringify(toProblem('NOT_FOUND', `The hub's sign-in serves no ${ctx.method} ${ctx.path} (see ${provider.issuer}/.well-known/openid-configuration).`));
    }
  });
  return provider;
}

/** Passes a request for `/oidc/…` to the provider, with every URL it builds taken from the issuer. */
export function providerHandler(provider: Provider, issuer: string): (req: IncomingMessage & { originalUrl?: string }, res: ServerResponse) => void {
  const callback = provider.callback();
  const url = new URL(issuer);
  const mount = url.pathname.replace(/\/$/, '');
  return (req, res) => {
    for (const name of Object.keys(req.headers)) if (name.startsWith('x-forwarded-') || name === 'forwarded') delete req.headers[name];
    req.headers['x-forwarded-host'] = url.host;
    req.headers['x-forwarded-proto'] = url.protocol.slice(0, -1);
    const full = req.url ?? '/';
    req.originalUrl = full;
    req.url = full.slice(mount.length) || '/';
    if (!req.url.startsWith('/')) req.url = `/${req.url}`;
    void callback(req, res);
  };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * The query parameter the device page's code arrives in when a browser opens the "complete"
 * verification URI (`/oidc/device?user_code=…`): oidc-provider would answer that with a page that
 * submits itself by script; the hub renames the parameter (hub-identity.ts) so the code is shown
 * filled in on the plain form, and the person submits it.
 */
export const PREFILL_PARAM = 'tongban_user_code';

/** A hidden field's value in a form oidc-provider built (its xsrf token, the user code). */
function fieldOf(form: string, name: string): string | undefined {
  const match = new RegExp(`name="${name}"[^>]*?value="([^"]*)"|value="([^"]*)"[^>]*?name="${name}"`).exec(form);
  const value = match?.[1] ?? match?.[2];
  return value === undefined ? undefined : value.replace(/&quot;|&#39;|&lt;|&gt;|&amp;/g, (e) => ({ '&quot;': '"', '&#39;': "'", '&lt;': '<', '&gt;': '>', '&amp;': '&' })[e]!);
}

function userCodeForm(action: string, xsrf: string, code: string | undefined): string {
  return `<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="xsrf" value="${escapeHtml(xsrf)}"><label for="user_code">代码 · Code</label><input id="user_code" name="user_code" required autocomplete="off" autocapitalize="characters" spellcheck="false" value="${escapeHtml(code ?? '')}"><button type="submit">继续 · Continue</button></form>`;
}

function confirmForm(action: string, xsrf: string, code: string): string {
  const hidden = `<input type="hidden" name="xsrf" value="${escapeHtml(xsrf)}"><input type="hidden" name="user_code" value="${escapeHtml(code)}">`;
  return `<form method="post" action="${escapeHtml(action)}">${hidden}<button type="submit" name="confirm" value="yes">确认 · Confirm</button> <button type="submit" name="abort" value="yes">取消 · Cancel</button></form>`;
}

/** Why the code page is shown again. */
function deviceError(out: { error?: unknown } | undefined, error: Error | undefined): string {
  if (!error && !out) return '';
  const text =
    error?.name === 'AbortedError'
      ? '登录已取消，命令行将提示登录被拒绝。 The sign-in was cancelled; the command line says it was denied.'
      : error?.name === 'NoCodeError'
        ? '请输入代码。 Enter the code.'
        : error && ['NotFoundError', 'ExpiredError', 'AlreadyUsedError'].includes(error.name)
          ? '代码无效、已使用或已过期。 The code is invalid, already used or expired.'
          : `出错了，请在命令行重新登录。 Something went wrong (${escapeHtml(String(out?.error ?? 'error'))}); run tongban login again.`;
  return `<p class="error" role="alert">${text}</p>`;
}

/** Security headers of every page the hub's provider renders: no scripts, no external assets, never framed. */
export const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
} as const;

function renderPage(ctx: KoaContextWithOIDC, title: string, body: string): void {
  ctx.type = 'html';
  for (const [name, value] of Object.entries(PAGE_HEADERS)) ctx.set(name, value);
  ctx.body = simplePage(title, body);
}

const ERROR_TITLE = '出错了 · Something went wrong';
const errorBody = (error: string, description: string) => `<p><code>${escapeHtml(error)}</code></p><p>${escapeHtml(description)}</p>`;

const PAGE_STYLE = 'body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#222}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}button{margin-top:1rem;padding:.5rem 1.2rem}.code code{font-size:1.6rem;letter-spacing:.15rem}.error{color:#b00020;border:1px solid #b00020;padding:.5rem}';

/** A page of the provider's own (no scripts, no external assets); `body` is trusted HTML. */
export function simplePage(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)} — 通办 Tongban</title><style>${PAGE_STYLE}</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export function errorPage(error: string, description: string): string {
  return simplePage(ERROR_TITLE, errorBody(error, description));
}
