export { CONSENT_CLOCK_SKEW_MS, CONSENT_REVOKED_KIND, CONSENT_USED_KIND, CONSENT_MAX_LENGTH, CONSENT_TYP, ConsentClaims, ConsentUse, consentStatus, consentViewStatus, type ConsentStatus, type ConsentViewStatus } from './model.ts';
export { signConsent } from './sign.ts';
export { checkConsentCovers, verifyConsent, type ConsentedExchange, type ConsentIssuer } from './verify.ts';
export { ConsentGrantInput, ConsentService, registerConsentRevocations, type ConsentServiceContext, type ConsentView } from './service.ts';
