export { CITIZEN_RELAY_PATH, hubRefusal, RelayCall, RelayRequest, relayedCitizen } from './relay.ts';
export { consentOptions, nodeOptions, previewItems, type ConsentOption, type NodeOption } from './options.ts';
