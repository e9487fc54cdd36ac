export * from './protocol.ts';
export type { DirectorySource, ExchangeContext, Outcome } from './context.ts';
export { checkConsentArtefact, CONSENT_REVOKED_KIND, CONSENT_USED_KIND } from './consent.ts';
export { provideDirect, provideRelayed } from './provider.ts';
export { ExchangeClient, type OutgoingExchange, type ExchangeResult } from './client.ts';
export { relay, type RelayOutcome } from './relay.ts';
export { authenticateRequest, signedRequestHeaders, signedResponseHeaders, verifyResponse, type IncomingRequest, type RequestCheck } from './http-messages.ts';
export { peerCall, REQUEST_ID_HEADER, type PeerAnswer } from './peer-http.ts';
