import * as oidc from 'openid-client';
import { TongbanError } from '../../errors/index.ts';
import { CLI_CLIENT_ID } from '../../identity/oidc-provider.ts';
import { FEDERATION_AUDIENCE as FEDERATION_RESOURCE, issuerOf, personFromClaims } from '../../identity/hub-tokens.ts';
import { Refusal } from '../output.ts';
import { hubKey, type HubLogin, type SignedInPerson, type TokenFile } from './token-file.ts';

/** What the CLI asks the hub for: who you are, the Tongban claims, and a refresh token. */
export const CLI_SCOPES = 'openid profile tongban offline_access';
/** An access token this close to its expiry is renewed before use. */
export const RENEW_BEFORE_MS = 60_000;

/** The hub's provider as the CLI (client `tongban-cli`, public) sees it. HUB_UNREACHABLE when it does not answer. */
export async function discoverHub(hub: string): Promise<oidc.Configuration> {
  const issuer = new URL(issuerOf(hub));
  try {
    return await oidc.discovery(issuer, CLI_CLIENT_ID, { id_token_signed_response_alg: 'EdDSA' }, oidc.None(), {
      timeout: 10,
      ...(issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}),
    });
  } catch (error) {
    throw new TongbanError('HUB_UNREACHABLE', `The hub's sign-in service at ${issuer.href} does not answer as an OpenID provider: ${(error as Error).message}`, { cause: error });
  }
}

/** The person the hub's ID token describes, kept in the token file (no ID number). */
export function summaryOf(claims: Record<string, unknown> | undefined): SignedInPerson {
  const person = claims ? personFromClaims(claims, 'access-token') : undefined;
  if (!person || person.kind === 'machine') throw new TongbanError('LOGIN_FAILED', "The hub's ID token does not describe a Tongban citizen or staff member.");
  return { subject: person.subject, name: person.name, kind: person.kind, ...(person.node ? { node: person.node } : {}), roles: person.roles };
}

/** What the token endpoint answered, as the file keeps it. */
export function loginOf(hub: string, tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, now: Date, previous?: HubLogin): HubLogin {
  const expiresIn = tokens.expiresIn() ?? 0;
  const refreshToken = tokens.refresh_token ?? previous?.refreshToken;
  return {
    hub: hubKey(hub),
    clientId: CLI_CLIENT_ID,
    accessToken: tokens.access_token,
    ...(refreshToken ? { refreshToken } : {}),
    expiresAt: new Date(now.getTime() + expiresIn * 1000).toISOString(),
    signedInAt: previous?.signedInAt ?? now.toISOString(),
    ...(previous ? { refreshedAt: now.toISOString() } : {}),
    person: tokens.id_token ? summaryOf(tokens.claims()) : previous!.person,
  };
}

/**
 * Why a device sign-in ended without tokens, as the CLI says it (exit 1): denied at the hub, the
 * code expired before anyone entered it; a hub that stops answering is HUB_UNREACHABLE (exit 2).
 */
export function deviceFlowFailure(error: unknown, hub: string): Error {
  if (error instanceof oidc.ResponseBodyError) {
    if (error.error === 'access_denied') return new Refusal('LOGIN_FAILED', 400, '登录被拒绝 · The sign-in was denied at the hub (cancelled on the confirmation page); nothing was stored.');
    if (error.error === 'expired_token') return new Refusal('LOGIN_FAILED', 400, '代码已过期 · The code expired before the sign-in was completed; run tongban login again.');
    return new Refusal('LOGIN_FAILED', 400, `The hub refused the sign-in (${error.error}${error.error_description ? `: ${error.error_description}` : ''}).`);
  }
  if (error instanceof oidc.ClientError && error.code === 'OAUTH_TIMEOUT') return new Refusal('LOGIN_FAILED', 400, '代码已过期 · The code expired before the sign-in was completed; run tongban login again.');
  if (error instanceof TypeError && !(error instanceof oidc.ClientError)) return new TongbanError('HUB_UNREACHABLE', `The hub at ${hub} stopped answering during the sign-in.`, { cause: error });
  return new Refusal('LOGIN_FAILED', 400, `The hub's answer does not complete the sign-in: ${(error as Error).message}`);
}

export interface DeviceStart {
  readonly verificationUri: string;
  readonly verificationUriComplete: string | undefined;
  readonly userCode: string;
  readonly expiresIn: number;
}

/** Starts the device flow and returns what to show, and the wait for the person to finish in a browser. */
export async function startDeviceLogin(hub: string): Promise<{ start: DeviceStart; finish: (now: () => Date) => Promise<HubLogin> }> {
  const configuration = await discoverHub(hub);
  let response: oidc.DeviceAuthorizationResponse;
  try {
    response = await oidc.initiateDeviceAuthorization(configuration, { scope: CLI_SCOPES, resource: FEDERATION_RESOURCE });
  } catch (error) {
    if (error instanceof oidc.ResponseBodyError) throw new Refusal('LOGIN_FAILED', 400, `The hub refused to start a sign-in (${error.error}).`);
    throw new TongbanError('HUB_UNREACHABLE', `The hub at ${hub} does not start a sign-in: ${(error as Error).message}`, { cause: error });
  }
  // The browser is sent to the hub only: a verification URI elsewhere would be a phishing page.
  const origin = new URL(issuerOf(hub)).origin;
  for (const uri of [response.verification_uri, response.verification_uri_complete]) {
    if (uri !== undefined && new URL(uri).origin !== origin) throw new Refusal('LOGIN_FAILED', 400, `The hub named a sign-in page on another server (${uri}); not shown.`);
  }
  return {
    start: { verificationUri: response.verification_uri, verificationUriComplete: response.verification_uri_complete, userCode: response.user_code, expiresIn: response.expires_in },
    finish: async (now) => {
      let tokens;
      try {
        tokens = await oidc.pollDeviceAuthorizationGrant(configuration, response);
      } catch (error) {
        throw deviceFlowFailure(error, hub);
      }
      return loginOf(hub, tokens, now());
    },
  };
}

export type Freshness = 'fresh' | 'renewed';

/**
 * The hub access token from the token file, renewed with the refresh token when it expires within
 * a minute (under the file's lock; a process that renewed meanwhile is not renewed again).
 * UNAUTHORIZED (exit 1) when there is no sign-in for this hub or it cannot be renewed.
 */
export async function currentLogin(file: TokenFile, hub: string, now: () => Date): Promise<{ login: HubLogin; freshness: Freshness }> {
  const login = file.get(hub);
  if (!login) throw new Refusal('UNAUTHORIZED', 401, `Not signed in at the hub ${hubKey(hub)}: run tongban login --hub ${hubKey(hub)} (or give a token with --token or TONGBAN_TOKEN).`);
  if (Date.parse(login.expiresAt) - RENEW_BEFORE_MS > now().getTime()) return { login, freshness: 'fresh' };
  return file.locked(async () => {
    const latest = file.get(hub);
    if (!latest) throw new Refusal('UNAUTHORIZED', 401, `Not signed in at the hub ${hubKey(hub)}: run tongban login --hub ${hubKey(hub)}.`);
    if (Date.parse(latest.expiresAt) - RENEW_BEFORE_MS > now().getTime()) return { login: latest, freshness: 'fresh' as const };
    if (!latest.refreshToken) throw new Refusal('UNAUTHORIZED', 401, `The sign-in at ${latest.hub} has expired and has no refresh token: run tongban login again.`);
    const configuration = await discoverHub(latest.hub);
    let tokens;
    try {
      tokens = await oidc.refreshTokenGrant(configuration, latest.refreshToken, { resource: FEDERATION_RESOURCE });
    } catch (error) {
      if (error instanceof oidc.ResponseBodyError) {
        // The hub ended the sign-in (refresh token expired or revoked, person disabled): it is of no use any more.
        file.put(latest.hub, undefined);
        throw new Refusal('UNAUTHORIZED', 401, `The hub ended the sign-in (${error.error}): run tongban login --hub ${latest.hub} again.`);
      }
      throw new TongbanError('HUB_UNREACHABLE', `The hub at ${latest.hub} does not renew the sign-in: ${(error as Error).message}`, { cause: error });
    }
    const renewed = loginOf(latest.hub, tokens, now(), latest);
    file.put(latest.hub, renewed);
    return { login: renewed, freshness: 'renewed' as const };
  });
}

/**
 * Signs out: the refresh token is revoked at the hub (which ends the grant, and with it the access
 * tokens issued under it that the hub still knows), then the sign-in is removed from the file.
 * Answers whether the hub revoked it, and why not.
 */
export async function revokeLogin(login: HubLogin): Promise<{ revoked: boolean; reason?: string }> {
  if (!login.refreshToken) return { revoked: false, reason: 'no refresh token was stored' };
  let configuration;
  try {
    configuration = await discoverHub(login.hub);
  } catch {
    return { revoked: false, reason: 'the hub does not answer' };
  }
  if (!configuration.serverMetadata().revocation_endpoint) return { revoked: false, reason: 'the hub offers no revocation endpoint' };
  try {
    await oidc.tokenRevocation(configuration, login.refreshToken, { token_type_hint: 'refresh_token' });
    return { revoked: true };
  } catch (error) {
    return { revoked: false, reason: error instanceof oidc.ResponseBodyError ? `the hub refused (${error.error})` : 'the hub does not answer' };
  }
}
