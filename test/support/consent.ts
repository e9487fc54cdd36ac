import { randomUUID } from 'node:crypto';
import { signJws, type SigningKey } from '../../src/crypto/index.ts';
import { CONSENT_TYP, type ConsentClaims } from '../../src/identity/consent/index.ts';
import type { Person } from '../../src/identity/person.ts';
import type { TestFederation } from './federation.ts';

/** A citizen as the hub's authentication proves them (src/identity/person.ts). */
export function citizen(idNumber: string, subject = `p-${idNumber.slice(-6)}`): Person {
  return { subject, kind: 'citizen', name: '测试公民', idNumber, roles: [], via: 'access-token' };
}

/** The hub's consent service of the running hub (a new one after each restart). */
export function hubConsents(t: TestFederation) {
  return t.f.hub.runtime!.consents!;
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
