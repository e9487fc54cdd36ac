export { StaffRole, Person, type Authenticator } from './person.ts';
export { hashPassword, verifyPassword } from './password.ts';
export { CitizenEnrolment, StaffEnrolment, StaffLogin, Password, PersonOut, newCitizen, newStaff, checkStaffLogin, personOut, claimsOf, normaliseLogin, maskedIdNumber } from './people.ts';
export { oidcAdapterFactory, type OidcAdapter, type OidcPayload } from './oidc-adapter.ts';
export { loadOrCreateOidcKeys, oidcKeyFiles, type OidcKeys, type OidcSigningJwk } from './oidc-keys.ts';
export { FEDERATION_RESOURCE, CLI_CLIENT_ID, OIDC_MOUNT, ACCESS_TOKEN_TTL_SECONDS, SCOPE_CLAIMS, type Provider } from './oidc-provider.ts';
export { LoginThrottle, MAX_FAILED_LOGINS, FAILED_LOGIN_WINDOW_MS, loginPage } from './interactions.ts';
export { HubIdentity, type HubIdentityOptions } from './hub-identity.ts';
