export {
  certificateTypes,
  certificateTypeForItem,
  certificateTypeById,
  certificateTypeByVct,
  type CertificateField,
  type CertificateType,
} from './types.ts';
export {
  CertificateMetadata,
  CertificateStatus,
  CertificateHeader,
  CertificatePayload,
  nodeUrn,
  type VerifiedCertificate,
} from './model.ts';
export { issueCertificate } from './issue.ts';
export { presentCertificate, decodeCertificate, type DecodedCertificate } from './present.ts';
export { STATUS_VALUE, signStatusList, verifyStatusList } from './status-list.ts';
export { IssuerKey, TrustedIssuer, TrustList, signTrustList, verifyTrustList, issuerKeyFor } from './trust-list.ts';
export { verifyPresentation, type VerifyPresentationOptions } from './verify.ts';
