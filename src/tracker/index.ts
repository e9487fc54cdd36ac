export { ACCESS_TOKEN_TYP, FEDERATION_AUDIENCE, hubOidc, remoteHubKeys, tokenHash, verifyCitizenProof, type CitizenProof, type ProofOptions } from './proof.ts';
export { compareRows, trackerRow, TrackerRow } from './rows.ts';
export { citizenSubjectHash, MAX_NODE_PAGE, NodeTrackerAnswer, NodeTrackerQuery, readTrackerEntries, type NodeTrackerContext } from './node-entries.ts';
export { decodeCursor, encodeCursor, federatedTracker, MAX_TRACKER_PAGE, NODE_TRACKER_PATH, TrackerAnswer, TrackerQuery, TrackerSource, type FederatedTrackerContext } from './federated.ts';
