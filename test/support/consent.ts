import { randomUUID } from 'node:crypto';
import { signJws, type SigningKey } from '../../src/crypto/index.ts';
import { CONSENT_TYP, type ConsentClaims, type ConsentGrantInput, type ConsentView } from '../../src/identity/consent/index.ts';
import type { TestFederation } from './federation.ts';
import { Browser, cliClient, signIn } from './identity.ts';

/** The password the consent tests enrol a citizen with (derived from the number: enrolling twice is harmless). */
export const citizenPassword = (idNumber: string) => `consent-pw-${idNumber}`;

/**
 * A citizen signed in at the hub for real: enrolled through the administrator's API, signed in
 * through a node's client (authorization code + PKCE, the hub's form) by a browser that keeps the
 * hub's session cookie. `token()` answers a hub access token, signing in again through that
 * session — without the password — once the last one is close to its 10 minutes.
 */
export interface SignedInCitizen {
  readonly idNumber: string;
  readonly name: string;
  readonly browser: Browser;
  token(): Promise<string>;
  /** Signs in again through the hub session only (no password): how many times the form was shown. */
  refresh(): Promise<{ token: string; passwordPrompts: number }>;
}

export async function signedInCitizen(t: TestFederation, who: { idNumber: string; name: string }): Promise<SignedInCitizen> {
  const hub = t.f.hub.endpoint;
  const enrolled = await fetch(new URL('/v1/identity/citizens', hub), {
    method: 'POST',
    headers: { authorization: `Bearer ${t.f.adminToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ idNumber: who.idNumber, name: who.name, password: citizenPassword(who.idNumber) }),
  });
  if (enrolled.status !== 201 && enrolled.status !== 409) throw new Error(`enrolment: ${enrolled.status} ${await enrolled.text()}`);
  // The person's own client (the CLI's): a token for the federation, taken at the hub and at every node.
  const client = cliClient();
  const browser = new Browser();
  const first = await signIn(hub, who.idNumber, citizenPassword(who.idNumber), { ...client, browser });
  let current = { token: first.accessToken, at: Date.now() };
  const refresh = async () => {
    const again = await signIn(hub, who.idNumber, undefined, { ...client, browser });
    current = { token: again.accessToken, at: Date.now() };
    return { token: again.accessToken, passwordPrompts: again.passwordPrompts };
  };
  return {
    ...who,
    browser,
    refresh,
    async token() {
      if (Date.now() - current.at > 8 * 60_000) await refresh();
      return current.token;
    },
  };
}

/** An HTTP call to the hub with a bearer token (or none): status and JSON answer. */
export async function hubCall(t: TestFederation, method: 'GET' | 'POST', path: string, token: string | undefined, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(new URL(path, t.f.hub.endpoint), {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

/** `POST /v1/consents` as `citizen`: the consent (201), or an Error with the hub's problem. */
export async function grantConsent(t: TestFederation, citizen: SignedInCitizen, input: ConsentGrantInput): Promise<ConsentView> {
  const r = await hubCall(t, 'POST', '/v1/consents', await citizen.token(), input);
  if (r.status !== 201) throw Object.assign(new Error(`grant: ${r.status} ${JSON.stringify(r.json)}`), { status: r.status, code: r.json?.code });
  return r.json as ConsentView;
}

/** Waits until `check` returns something truthy (a delivery through an outbox, a refresh). */
export async function until<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, what = 'the condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** An artefact with these claims signed by `key` as the hub would sign it: to forge, or to test the verifier's bounds. */
export async function signedArtefact(key: SigningKey, claims: Partial<ConsentClaims> & Pick<ConsentClaims, 'subject'>): Promise<string> {
  const now = Date.now();
  const full: ConsentClaims = {
    id: randomUUID(),
    issuer: '100000',
    kid: key.kid,
    requester: '330523',
    provider: '522732',
    agreementId: 'AGR-522732-330523-001',
    itemCode: 'N037',
    service: 'marriage.status',
    purpose: '婚姻登记',
    fields: ['maritalStatus', 'spouseName'],
    use: 'until-expiry',
    issuedAt: new Date(now - 60_000).toISOString(),
    notBefore: new Date(now - 60_000).toISOString(),
    expiresAt: new Date(now + 3_600_000).toISOString(),
    ...claims,
  };
  return signJws(key, new TextEncoder().encode(JSON.stringify(full)), { typ: CONSENT_TYP });
}
