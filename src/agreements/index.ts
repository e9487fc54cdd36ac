export { Agreement, AgreementItem, Grant, PartySignature, SignedAgreement } from './model.ts';
export { signAgreement, verifyAgreementSignatures, checkAgreementSuccession, agreementBytes, type AgreementCheck, type SuccessionCheck } from './signing.ts';
export { PolicyIndex, type AccessRequest, type Decision, type DenialCode } from './policy-index.ts';
