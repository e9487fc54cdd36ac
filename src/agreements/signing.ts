import { canonicalJson, signJws, verifyJws, type PublicJwk, type SigningKey } from '../crypto/index.ts';
import type { Agreement, PartySignature, SignedAgreement } from './model.ts';

const TYP = 'tongban-agreement+jws';

export function agreementBytes(agreement: Agreement): Uint8Array {
  return new TextEncoder().encode(canonicalJson(agreement));
}

/** A party signs the canonical agreement with its node key (detached JWS). */
export async function signAgreement(agreement: Agreement, division: string, key: SigningKey): Promise<PartySignature> {
  return { division, jws: await signJws(key, agreementBytes(agreement), { typ: TYP, detached: true }) };
}

export type AgreementCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly missing?: readonly string[] };

/**
 * Checks that every party signed this exact agreement with a key the directory lists for
 * that party, and that nobody else did. `alsoRequired` names further signers that must sign
 * (the parties of the version a new version replaces).
 */
export async function verifyAgreementSignatures(
  signed: SignedAgreement,
  keysOf: (division: string) => readonly { kid: string; jwk: PublicJwk }[],
  alsoRequired: readonly string[] = [],
): Promise<AgreementCheck> {
  const bytes = agreementBytes(signed.agreement);
  const required = [...new Set([...signed.agreement.parties, ...alsoRequired])];
  const signers = new Set<string>();
  for (const signature of signed.signatures) {
    if (!required.includes(signature.division)) {
      return { ok: false, reason: `${signature.division} signed but is not a party` };
    }
    const keys = keysOf(signature.division);
    const result = await verifyJws(signature.jws, (kid) => keys.find((k) => k.kid === kid)?.jwk ?? null, bytes);
    if (!result.ok) return { ok: false, reason: `the signature of ${signature.division} is ${result.reason === 'unknown-key' ? 'by an unknown key' : 'not valid'}` };
    if (result.header.typ !== TYP) return { ok: false, reason: `the signature of ${signature.division} is not an agreement signature` };
    signers.add(signature.division);
  }
  const missing = required.filter((p) => !signers.has(p));
  if (missing.length > 0) return { ok: false, reason: `not signed by ${missing.join(', ')}`, missing };
  return { ok: true };
}

export type SuccessionCheck =
  | { readonly ok: true; readonly unchanged: boolean }
  | { readonly ok: false; readonly code: 'AGREEMENT_INVALID' | 'AGREEMENT_NOT_COSIGNED' | 'AGREEMENT_VERSION_CONFLICT'; readonly reason: string };

/**
 * Whether `next` may take the place of `previous` (the version in force, if any). A new
 * version must be signed by every party of the new version AND of the version it replaces,
 * so no subset of parties (and no hub) can rewrite or take over an agreement; the same
 * version must be the same agreement; a lower version never replaces a higher one.
 * The hub applies this at registration and every node again when it adopts a snapshot.
 */
export async function checkAgreementSuccession(
  previous: SignedAgreement | undefined,
  next: SignedAgreement,
  keysOf: (division: string) => readonly { kid: string; jwk: PublicJwk }[],
): Promise<SuccessionCheck> {
  const id = next.agreement.id;
  if (previous) {
    const was = previous.agreement.version;
    if (next.agreement.version < was) {
      return { ok: false, code: 'AGREEMENT_VERSION_CONFLICT', reason: `version ${was} of ${id} is in force; version ${next.agreement.version} cannot replace it` };
    }
    if (next.agreement.version === was) {
      if (canonicalJson(next.agreement) === canonicalJson(previous.agreement)) return { ok: true, unchanged: true };
      return { ok: false, code: 'AGREEMENT_VERSION_CONFLICT', reason: `version ${was} of ${id} is in force with different terms; a change needs a new version` };
    }
  }
  const formerParties = previous?.agreement.parties ?? [];
  const check = await verifyAgreementSignatures(next, keysOf, formerParties);
  if (check.ok) return { ok: true, unchanged: false };
  const uncosigned = (check.missing ?? []).filter((p) => formerParties.includes(p));
  if (uncosigned.length > 0) {
    return {
      ok: false,
      code: 'AGREEMENT_NOT_COSIGNED',
      reason: `version ${next.agreement.version} of ${id} is not signed by ${uncosigned.join(', ')}, part${uncosigned.length > 1 ? 'ies' : 'y'} to version ${previous!.agreement.version} in force`,
    };
  }
  return { ok: false, code: 'AGREEMENT_INVALID', reason: check.reason };
}

const ROUND_TYP = 'tongban-agreement-round+jws';

/**
 * The author's signature over the terms of a negotiation round: proof of who offered them,
 * kept distinct (its own `typ`) from a party's signature of the agreement, so an offer can
 * never be passed off as consent to the final terms.
 */
export async function signRound(agreement: Agreement, key: SigningKey): Promise<string> {
  return signJws(key, agreementBytes(agreement), { typ: ROUND_TYP, detached: true });
}

/** Whether `jws` is `division`'s signature of kind `kind` over these terms, with a key the directory lists for it. */
export async function verifyTermsSignature(
  kind: 'agreement' | 'round',
  agreement: Agreement,
  jws: string,
  keys: readonly { kid: string; jwk: PublicJwk }[],
): Promise<boolean> {
  const result = await verifyJws(jws, (kid) => keys.find((k) => k.kid === kid)?.jwk ?? null, agreementBytes(agreement));
  return result.ok && result.header.typ === (kind === 'agreement' ? TYP : ROUND_TYP);
}
