export { StaffRole, Person, type Authenticator } from './person.ts';
export { hashPassword, verifyPassword } from './password.ts';
export { CitizenEnrolment, StaffEnrolment, StaffLogin, Password, PersonOut, newCitizen, newStaff, checkStaffLogin, personOut, claimsOf, normaliseLogin, maskedIdNumber } from './people.ts';
export { oidcAdapterFactory, type OidcAdapter, type OidcPayload } from './oidc-adapter.ts';
export { loadOrCreateOidcKeys, oidcKeyFiles, type OidcKeys, type OidcSigningJwk } from './oidc-keys.ts';
export { CLI_CLIENT_ID, CLI_LOOPBACK_REDIRECT, audienceOf, OIDC_MOUNT, ACCESS_TOKEN_TTL_SECONDS, SCOPE_CLAIMS, type Provider } from './oidc-provider.ts';
export { LoginThrottle, MAX_FAILED_LOGINS, MAX_FAILED_LOGINS_PER_LOGIN, FAILED_LOGIN_WINDOW_MS, loginPage } from './interactions.ts';
export { HubIdentity, type HubIdentityOptions } from './hub-identity.ts';
export { HubStaff, OperatorStaffEnrolment, StaffListed, StaffPage, staffLoginOf, generatePassword, type HubStaffOptions } from './staff-admin.ts';

// Nodes as relying parties of the hub, and who is calling (rp helper).
export { NodeIdentity, type NodeIdentityOptions } from './authenticator.ts';
export { RelyingParty, localReturnPath, NODE_SCOPES } from './relying-party.ts';
// The one check of what the hub signs (access tokens, the tracker's proofs), and the audiences.
export {
  FEDERATION_AUDIENCE,
  nodeAudience,
  accessTokenAudiences,
  ACCESS_TOKEN_TYP,
  HUB_TOKEN_ALGORITHMS,
  CLOCK_TOLERANCE_SECONDS,
  issuerOf,
  hubJwksUrl,
  remoteHubKeys,
  verifyHubToken,
  verifyAccessToken,
  personFromClaims,
  tokenHash,
  type HubTokenVerifier,
  type HubTokenExpectation,
} from './hub-tokens.ts';
export { NodeSessions, sessionCookieName, SESSION_IDLE_MS, SESSION_MAX_MS, secretHash, parseCookies, sessionCookie, clearedSessionCookie, loginBindingCookieName, loginBinding, loginBindingOf, loginBindingCookie } from './sessions.ts';
export { MachineClients, MachineClientId, MachineClientRole, StoredMachineClientRole, APPLICANT_CLIENT_REFUSED, machineClientView } from './machine-clients.ts';
export { AdminGrants, AdminGrantRequest, AdminGrantRole, AdminGrantView, ADMIN_GRANT_MAX_FAILURES, NodePassphrase, generatePassphrase, viewOfGrant } from './admin-grants.ts';
export { checkCsrf, CSRF_HEADER } from './csrf.ts';
