import { decodeJwt } from 'jose';
import { TongbanError } from '../../errors/index.ts';
import { issuerOf } from '../../identity/hub-tokens.ts';
import { currentLogin, TokenFile, tokenFilePath } from '../login/index.ts';
import { Refusal } from '../output.ts';
import { endpointOf, locateNode } from './locate.ts';

/** The hub's URL: `--hub`, else the hub of the federation folder. */
export function hubUrlOf(options: { hub?: string; federation: string }): string {
  return (options.hub ?? endpointOf(locateNode(options.federation, 'hub'))).replace(/\/+$/, '');
}

/**
 * The person's hub access token for `hub`: `--token`, else TONGBAN_TOKEN, else the sign-in of
 * `tongban login` at this hub (renewed when it has expired). The token goes only to the hub that
 * issued it: a token of another hub (or no JWT at all) is never sent to a server named by mistake.
 */
export async function hubTokenFor(hub: string, token: string | undefined): Promise<string> {
  const chosen = token || process.env.TONGBAN_TOKEN || (await currentLogin(new TokenFile(tokenFilePath()), hub, () => new Date())).login.accessToken;
  let issuer: unknown;
  try {
    issuer = decodeJwt(chosen).iss;
  } catch {
    throw new TongbanError('UNAUTHORIZED', 'The token is not a hub access token (a JWT); sign in at the hub again.');
  }
  if (issuer !== issuerOf(hub)) throw new TongbanError('UNAUTHORIZED', `The token was issued by ${String(issuer)}, not by the hub at ${hub}: it is not sent there.`);
  return chosen;
}

/**
 * One call to the hub with the person's access token: the JSON answer, a Refusal (exit 1) for a
 * problem answer, HUB_UNREACHABLE (exit 2) when it does not answer.
 */
export async function callHub(hub: string, token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(new URL(path, hub), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
  } catch {
    throw new TongbanError('HUB_UNREACHABLE', `The hub at ${hub} does not answer.`);
  }
  let json: Record<string, unknown>;
  try {
    json = (await response.json()) as Record<string, unknown>;
  } catch {
    throw new TongbanError('PEER_RESPONSE_INVALID', `The server at ${hub} did not answer as a Tongban hub (HTTP ${response.status}).`);
  }
  if (!response.ok) throw new Refusal(typeof json.code === 'string' ? json.code : `HTTP_${response.status}`, response.status, typeof json.detail === 'string' ? json.detail : `The hub answered ${response.status}.`);
  return json;
}
