import * as oidc from 'openid-client';
import { TongbanError } from '../errors/index.ts';
import type { Store } from '../store/index.ts';
import { issuerOf, personFromClaims } from './hub-tokens.ts';
import type { Person } from './person.ts';
import { secretHash } from './sessions.ts';

/** What a node asks the hub for at sign-in. */
export const NODE_SCOPES = 'openid profile tongban';
/** How long a sign-in may take between the redirect to the hub and the callback. */
const LOGIN_TTL_MS = 10 * 60_000;

/**
 * A local path to come back to after sign-in: `/…`, never `//host` or `/\host` (an open redirect
 * through the node); printable ASCII only (other characters percent-encoded, as in a URL), so it
 * can be written in the callback's Location header. VALIDATION_FAILED otherwise. Without one:
 * who-am-I (`/v1/auth/me`), the one page a node serves a person who just signed in.
 */
export function localReturnPath(value: string | undefined): string {
  if (value === undefined || value === '') return '/v1/auth/me';
  const ok = value.length <= 2000 && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\') && ![...value].some((ch) => ch.charCodeAt(0) <= 0x20 || ch.charCodeAt(0) >= 0x7f || ch === '\\');
  if (!ok) throw new TongbanError('VALIDATION_FAILED', 'return must be a path on this node (starting with one "/", printable ASCII, other characters percent-encoded).', { errors: [{ path: 'query.return', message: 'a local path' }] });
  return value;
}

export interface RelyingPartyOptions {
  readonly store: Store;
  readonly clock: () => Date;
  /** The hub's URL (config.hub.url). */
  readonly hubUrl: string;
  /** This node's client id at the hub: its division code. */
  readonly clientId: string;
}

/**
 * A node as an OpenID Connect relying party of the hub (openid-client): authorization code with
 * PKCE (S256), state and nonce kept in the node's store — never in the browser —, the ID token
 * checked by openid-client (issuer, audience, signature against the hub's JWKS, nonce, expiry).
 * The hub's discovery document is fetched at the first sign-in and kept (fetched again after a failure).
 */
export class RelyingParty {
  readonly #options: RelyingPartyOptions;
  #configuration: Promise<oidc.Configuration> | undefined;

  constructor(options: RelyingPartyOptions) {
    this.#options = options;
  }

  get issuer(): string {
    return issuerOf(this.#options.hubUrl);
  }

  /** The hub's metadata and this node's client, discovered once. HUB_UNREACHABLE when the hub does not answer. */
  configuration(): Promise<oidc.Configuration> {
    this.#configuration ??= (async () => {
      const issuer = new URL(this.issuer);
      const insecure = issuer.protocol === 'http:';
      try {
        return await oidc.discovery(issuer, this.#options.clientId, { id_token_signed_response_alg: 'EdDSA' }, oidc.None(), { timeout: 10, ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}) });
      } catch (error) {
        throw new TongbanError('HUB_UNREACHABLE', `The hub's OpenID provider at ${issuer.href} cannot be discovered: ${(error as Error).message}`, { cause: error });
      }
    })();
    const pending = this.#configuration;
    pending.catch(() => {
      if (this.#configuration === pending) this.#configuration = undefined;
    });
    return pending;
  }

  /**
   * Starts a sign-in: remembers state, PKCE verifier and nonce — filed under the state and the
   * browser's `binding` (its `tongban_login_<division>` cookie), so only that browser can complete it — and
   * answers the hub URL to send the browser to.
   */
  async begin(returnTo: string, redirectUri: string, binding: string, options: { fresh?: boolean } = {}): Promise<URL> {
    const configuration = await this.configuration();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const now = this.#options.clock().getTime();
    await this.#options.store.loginStates.put({ stateHash: boundStateHash(state, binding), codeVerifier, nonce, returnTo, expiresAt: now + LOGIN_TTL_MS });
    await this.#options.store.loginStates.purge(now).catch(() => 0);
    return oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope: NODE_SCOPES,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      // The person types their password again, even with a session at the hub: a fresh auth_time.
      ...(options.fresh ? { prompt: 'login' } : {}),
    });
  }

  /**
   * Completes a sign-in at the callback: the state must be one this node issued to this very
   * browser (`binding`, from its cookie; used once, not expired), the code is exchanged with the
   * PKCE verifier, the ID token checked (nonce included). Returns the person and where to go back
   * to. LOGIN_FAILED when anything does not hold — a callback URL opened by another browser included
   * (login CSRF: it would sign the victim in as whoever started the sign-in).
   */
  async complete(callbackUrl: URL, binding: string | undefined): Promise<{ person: Person; returnTo: string; accessToken?: { token: string; expiresAt: number } }> {
    const state = callbackUrl.searchParams.get('state');
    const login = state && binding ? await this.#options.store.loginStates.take(boundStateHash(state, binding)) : undefined;
    if (!state || !login || login.expiresAt <= this.#options.clock().getTime()) {
      throw new TongbanError('LOGIN_FAILED', 'This sign-in is unknown, already used or expired: start again from the node.');
    }
    const hubError = callbackUrl.searchParams.get('error');
    if (hubError) throw new TongbanError('LOGIN_FAILED', `The hub did not sign you in (${hubError.slice(0, 100)}).`);
    const configuration = await this.configuration();
    let tokens;
    try {
      tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, { pkceCodeVerifier: login.codeVerifier, expectedState: state, expectedNonce: login.nonce, idTokenExpected: true });
    } catch (error) {
      if (error instanceof TypeError && !(error instanceof oidc.ClientError)) throw new TongbanError('HUB_UNREACHABLE', `The hub's token endpoint does not answer: ${error.message}`, { cause: error });
      throw new TongbanError('LOGIN_FAILED', `The hub's answer does not complete the sign-in: ${(error as Error).message.slice(0, 200)}`, { cause: error });
    }
    const claims = tokens.claims();
    const person = claims ? personFromClaims(claims, 'session') : undefined;
    if (!person) throw new TongbanError('LOGIN_FAILED', "The hub's ID token does not describe a Tongban citizen or staff member.");
    // A citizen's access token (for this node's client only) is kept for the node's relay to the
    // hub; staff need none. Its expiry as the hub said it, never beyond the token's own `exp`.
    const expiresIn = tokens.expiresIn();
    const accessToken = person.kind === 'citizen' && tokens.access_token && expiresIn !== undefined ? { token: tokens.access_token, expiresAt: this.#options.clock().getTime() + expiresIn * 1000 } : undefined;
    return { person, returnTo: login.returnTo, ...(accessToken ? { accessToken } : {}) };
  }
}

/** Where a sign-in's state is filed: the state and the browser's binding together (neither alone finds it). */
function boundStateHash(state: string, binding: string): string {
  return secretHash(`${state}.${binding}`);
}
