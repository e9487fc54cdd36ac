import { canonicalJson, signJws, type SigningKey } from '../../crypto/index.ts';
import { CONSENT_TYP, ConsentClaims } from './model.ts';

/**
 * The compact JWS of a consent, signed with the hub's directory key (Ed25519 or SM2, whichever the
 * hub has). The payload is the RFC 8785 canonical JSON of the claims; they must name this key.
 */
export async function signConsent(hubKey: SigningKey, claims: ConsentClaims): Promise<string> {
  const checked = ConsentClaims.parse(claims);
  if (checked.kid !== hubKey.kid) throw new TypeError('the consent names another key than the one signing it');
  return signJws(hubKey, new TextEncoder().encode(canonicalJson(checked)), { typ: CONSENT_TYP });
}
