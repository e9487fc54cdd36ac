import { z } from 'zod';
import { decodeCertificate, nodeUrn } from '../certificates/index.ts';
import { signJws, verifyJws, type PublicJwk, type SigningKey } from '../crypto/index.ts';
import { TongbanError } from '../errors/index.ts';

/** The `typ` of the JWS by which a holder proves they hold the key a certificate is to be bound to. */
export const HOLDER_PROOF_TYP = 'tongban-holder-proof+jwt';
/** How far a proof's `iat` may be from the issuer's clock. */
export const HOLDER_PROOF_MAX_AGE_SECONDS = 300;

const ProofPayload = z.object({ aud: z.string(), certificateId: z.string(), iat: z.number().int() });

/**
 * Checks a holder's proof of possession: a compact JWS by `jwk` itself, typ
 * tongban-holder-proof+jwt, for this issuer (`aud` urn:tongban:node:<issuer>), this certificate,
 * made within five minutes. Anything else → CERTIFICATE_KEY_BINDING_INVALID.
 */
export async function checkHolderProof(proof: string, jwk: PublicJwk, expected: { issuer: string; certificateId: string; now: Date }): Promise<void> {
  const refuse = (why: string) => new TongbanError('CERTIFICATE_KEY_BINDING_INVALID', `The holder proof ${why}.`);
  const verified = await verifyJws(proof, () => jwk);
  if (!verified.ok) throw refuse(verified.reason === 'malformed' ? 'is not a compact JWS' : 'is not signed by the key given');
  if (verified.header.typ !== HOLDER_PROOF_TYP) throw refuse(`is not of typ ${HOLDER_PROOF_TYP}`);
  let payload: z.infer<typeof ProofPayload>;
  try {
    payload = ProofPayload.parse(JSON.parse(new TextDecoder().decode(verified.payload)));
  } catch {
    throw refuse('payload is not {aud, certificateId, iat}');
  }
  if (payload.aud !== nodeUrn(expected.issuer)) throw refuse(`is for ${payload.aud}, not ${nodeUrn(expected.issuer)}`);
  if (payload.certificateId !== expected.certificateId) throw refuse('names another certificate');
  if (Math.abs(expected.now.getTime() / 1000 - payload.iat) > HOLDER_PROOF_MAX_AGE_SECONDS) throw refuse(`was not made within ${HOLDER_PROOF_MAX_AGE_SECONDS / 60} minutes`);
}

/** A holder's proof for `certificateId` at `issuer` (what `tongban cert bind` sends). */
export async function makeHolderProof(holderKey: SigningKey, issuer: string, certificateId: string, now: Date): Promise<string> {
  const payload = { aud: nodeUrn(issuer), certificateId, iat: Math.floor(now.getTime() / 1000) };
  return signJws(holderKey, new TextEncoder().encode(JSON.stringify(payload)), { typ: HOLDER_PROOF_TYP });
}

/**
 * The same certificate bound to `jwk`: the issuer-signed payload with `cnf.jwk` added, signed
 * again with the node's key, followed by the very same disclosures (same salts, same digests): the
 * identifier, status index, dates and fields do not change.
 */
export async function bindIssued(sdJwt: string, jwk: PublicJwk, key: SigningKey): Promise<string> {
  const decoded = decodeCertificate(sdJwt);
  const disclosures = sdJwt.split('~').slice(1, -1);
  const payload = { ...decoded.payload, cnf: { jwk } };
  const jwt = await signJws(key, new TextEncoder().encode(JSON.stringify(payload)), { typ: decoded.header.typ });
  return [jwt, ...disclosures, ''].join('~');
}
