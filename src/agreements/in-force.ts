import type { SignedAgreement } from './model.ts';

/** An agreement is in force while registered, begun, not expired, and neither suspended nor terminated (`stateOf`: its lifecycle state here). Pure. */
export function agreementInForce(signed: SignedAgreement, stateOf: (id: string) => string, now: Date): boolean {
  const a = signed.agreement;
  return Date.parse(a.validFrom) <= now.getTime() && now.getTime() < Date.parse(a.validUntil) && stateOf(a.id) === 'active';
}
