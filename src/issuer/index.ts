export { CertificateIssuer, type CertificateView, type StatusAction } from './service.ts';
export { type IssuerContext } from './context.ts';
export { certificateFormOf, statusListUri } from './issuance.ts';
export { HOLDER_PROOF_TYP, checkHolderProof, makeHolderProof, bindIssued } from './holder-binding.ts';
