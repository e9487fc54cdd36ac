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
export { verifyPresentation, isRefusedAfterSignature, type VerifyPresentationOptions } from './verify.ts';
// Hub and node wiring (helper B): the certificate index message, the issuer registry and trust list, the wallet, the node's trust list client.
export { CERTIFICATE_ISSUED_KIND, CertificateIssuedMessage, certificateIssuedMessage } from './index-message.ts';
export { IssuerAuthorisation, IssuerRegistry, TRUST_LIST_TTL_SECONDS, type IssuerRegistryOptions, type IssuerView, type TrustListSource } from './hub-trust.ts';
export { CertificateIndex, MAX_TRACKED_CERTIFICATES, WalletEntry, type CertificateIndexContext } from './hub-index.ts';
export { TRUST_LIST_PATH, TrustListClient, type TrustListClientOptions } from './trust-list-client.ts';
