import { readFileSync } from 'node:fs';
import { generateKeyPair, importJWK, SignJWT, type CryptoKey } from 'jose';
import { loadConfig } from '../../src/config/index.ts';
import { issuerOf, oidcKeyFiles } from '../../src/identity/index.ts';
import type { TestFederation } from './federation.ts';
import { cliClient, signIn } from './identity.ts';

export interface CraftOptions {
  /** Sign with this key instead of the hub's OIDC key (a forgery). */
  readonly key?: CryptoKey;
  readonly issuer?: string;
  readonly audience?: string;
  readonly typ?: string;
  readonly issuedAt?: Date;
  readonly expiresInSeconds?: number;
}

export interface HubTokens {
  /**
   * Enrols a citizen at the hub (administrator API) and signs them in: a real access token. Through
   * the CLI's client (loopback redirect) by default — a token for the federation, taken at every
   * node and the hub —, or through `node`'s client: a token for that node only.
   */
  signInCitizen(idNumber: string, options?: { node?: string; name?: string }): Promise<string>;
  /**
   * A token with any claims and header, signed with the hub's own OIDC key read from its key folder
   * (as an intruder holding the hub's key file could), or with `key`: for refusal tests (expired, other
   * audience, staff) that the real provider would never issue on demand.
   */
  craft(claims: Record<string, unknown>, options?: CraftOptions): Promise<string>;
  /** A key the hub never had. */
  readonly strangerKey: CryptoKey;
}

export async function hubTokens(t: TestFederation): Promise<HubTokens> {
  const hubConfig = loadConfig(t.f.hub.configPath, {});
  const jwk = (JSON.parse(readFileSync(oidcKeyFiles(hubConfig).signing, 'utf8')) as { privateJwk: Record<string, string> }).privateJwk;
  const hubKey = (await importJWK(jwk, 'EdDSA')) as CryptoKey;
  const stranger = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const issuer = issuerOf(t.f.hub.endpoint);
  return {
    strangerKey: stranger.privateKey,
    async signInCitizen(idNumber, options = {}) {
      const password = `pw-${idNumber}-secret`;
      const enrolled = await fetch(new URL('/v1/identity/citizens', t.f.hub.endpoint), {
        method: 'POST',
        headers: { authorization: `Bearer ${t.f.adminToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ idNumber, name: options.name ?? '测试公民', password }),
      });
      if (enrolled.status !== 201 && enrolled.status !== 409) throw new Error(`enrolment: ${enrolled.status} ${await enrolled.text()}`);
      const node = options.node === undefined ? undefined : t.f.nodes.get(options.node)!;
      const client = node ? { clientId: node.division, redirectUri: `${node.endpoint}/v1/auth/callback` } : cliClient();
      const signedIn = await signIn(t.f.hub.endpoint, idNumber, password, client);
      return signedIn.accessToken;
    },
    craft(claims, options = {}) {
      const iat = Math.floor((options.issuedAt ?? new Date()).getTime() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', typ: options.typ ?? 'at+jwt', kid: jwk.kid! })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? 'urn:tongban:federation')
        .setSubject(typeof claims.sub === 'string' ? claims.sub : 'p-crafted')
        .setIssuedAt(iat)
        .setExpirationTime(iat + (options.expiresInSeconds ?? 600))
        .sign(options.key ?? hubKey);
    },
  };
}

/** How long a test keeps using one access token before signing in again (they are valid 10 minutes). */
const RENEW_AFTER_MS = 5 * 60_000;

/** A citizen enrolled at the hub and signed in there for real. */
export interface SignedInCitizen {
  /** The hub's `sub` for them: the subject audit entries and sessions name. */
  readonly subject: string;
  readonly idNumber: string;
  readonly name: string;
  readonly password: string;
  /** Their hub access token; signed in again when it is 5 minutes old. */
  accessToken(): Promise<string>;
}

/**
 * Enrols a citizen at the hub (the administrator API; enrolled already is fine) and signs them in
 * with the real authorization-code flow (test/support/identity.ts): through the CLI's client by
 * default — the person's own token, for the federation, which a citizen uses at any node (as after
 * `tongban login`) — or through `node`'s client (a token for that node only). Renewal signs in
 * again in the same browser: the hub's session answers without the password.
 */
export async function signedInCitizen(f: TestFederation['f'], person: { idNumber: string; name: string }, options: { node?: string; password?: string } = {}): Promise<SignedInCitizen> {
  const password = options.password ?? `pw-${person.idNumber}-secret`;
  const enrolled = await fetch(new URL('/v1/identity/citizens', f.hub.endpoint), {
    method: 'POST',
    headers: { authorization: `Bearer ${f.adminToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ idNumber: person.idNumber, name: person.name, password }),
  });
  if (enrolled.status !== 201 && enrolled.status !== 409) throw new Error(`enrolment: ${enrolled.status} ${await enrolled.text()}`);
  const node = options.node === undefined ? undefined : f.nodes.get(options.node)!;
  const through = node ? { clientId: node.division, redirectUri: `${node.endpoint}/v1/auth/callback` } : cliClient();
  let current = await signIn(f.hub.endpoint, person.idNumber, password, through);
  let at = Date.now();
  let renewing: Promise<void> | undefined;
  const subject = current.claims.sub;
  if (typeof subject !== 'string' || current.claims.tongban_id_number !== person.idNumber.toUpperCase()) throw new Error(`the hub did not sign in ${person.idNumber} as that citizen`);
  return {
    subject,
    idNumber: person.idNumber,
    name: person.name,
    password,
    async accessToken() {
      if (Date.now() - at > RENEW_AFTER_MS) {
        // Callers at the same time share one new sign-in.
        renewing ??= signIn(f.hub.endpoint, person.idNumber, password, { ...through, browser: current.browser })
          .then((next) => {
            current = next;
            at = Date.now();
          })
          .finally(() => (renewing = undefined));
        await renewing;
      }
      return current.accessToken;
    },
  };
}
