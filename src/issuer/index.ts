export { CertificateIssuer, type CertificateView, type StatusAction } from './service.ts';
export { type IssuerContext, type TrustListSource } from './context.ts';
export { CERTIFICATE_ISSUED_KIND, statusListUri } from './issuance.ts';
export { HOLDER_PROOF_TYP, checkHolderProof, makeHolderProof, bindIssued } from './holder-binding.ts';
