export { Agreement, AgreementItem, Grant, PartySignature, SignedAgreement } from './model.ts';
export { signAgreement, verifyAgreementSignatures, agreementBytes, type AgreementCheck } from './signing.ts';
export { PolicyIndex, type AccessRequest, type Decision, type DenialCode } from './policy-index.ts';
