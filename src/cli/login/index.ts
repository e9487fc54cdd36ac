export { tokenFilePath, TokenFile, HubLogin, SignedInPerson, hubKey } from './token-file.ts';
export { CLI_SCOPES, RENEW_BEFORE_MS, currentLogin, deviceFlowFailure, discoverHub, loginOf, revokeLogin, startDeviceLogin, summaryOf, type DeviceStart, type Freshness } from './hub-client.ts';
