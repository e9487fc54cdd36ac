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

export type AgreementCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Checks that every party signed this exact agreement with a key the directory lists for
 * that party, and that nobody else did.
 */
export async function verifyAgreementSignatures(
  signed: SignedAgreement,
  keysOf: (division: string) => readonly { kid: string; jwk: PublicJwk }[],
): Promise<AgreementCheck> {
  const bytes = agreementBytes(signed.agreement);
  const signers = new Set<string>();
  for (const signature of signed.signatures) {
    if (!signed.agreement.parties.includes(signature.division)) {
      return { ok: false, reason: `${signature.division} signed but is not a party` };
    }
    const keys = keysOf(signature.division);
    const result = await verifyJws(signature.jws, (kid) => keys.find((k) => k.kid === kid)?.jwk ?? null, bytes);
    if (!result.ok) return { ok: false, reason: `the signature of ${signature.division} is ${result.reason === 'unknown-key' ? 'by an unknown key' : 'not valid'}` };
    if (result.header.typ !== TYP) return { ok: false, reason: `the signature of ${signature.division} is not an agreement signature` };
    signers.add(signature.division);
  }
  const missing = signed.agreement.parties.filter((p) => !signers.has(p));
  if (missing.length > 0) return { ok: false, reason: `not signed by ${missing.join(', ')}` };
  return { ok: true };
}
