export { CITIZEN_RELAY_PATH, hubRefusal, RelayCall, RelayRequest, relayedCitizen, requireRecentSignIn, CONSENT_SIGN_IN_MAX_AGE_SECONDS } from './relay.ts';
export { consentOptions, nodeOptions, previewItems, type ConsentOption, type NodeOption } from './options.ts';
