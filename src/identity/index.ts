export { Person, StaffRole, type Authenticator } from './person.ts';

// Nodes as relying parties of the hub, and who is calling (rp helper).
export { NodeIdentity, type NodeIdentityOptions } from './authenticator.ts';
export { RelyingParty, personFromClaims, localReturnPath, issuerOf, FEDERATION_AUDIENCE, NODE_SCOPES } from './relying-party.ts';
export { NodeSessions, SESSION_COOKIE, SESSION_IDLE_MS, SESSION_MAX_MS, secretHash, parseCookies, sessionCookie, clearedSessionCookie } from './sessions.ts';
export { MachineClients, MachineClientId, MachineClientRole, machineClientView } from './machine-clients.ts';
export { checkCsrf, CSRF_HEADER } from './csrf.ts';
