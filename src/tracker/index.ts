export { mintTrackerProof, MAX_PROOF_CERTIFICATES, TRACKER_PROOF_TTL_SECONDS, TRACKER_PROOF_TYP, TRACKER_PURPOSE, verifyCitizenToken, verifyTrackerCaller, type CitizenProof, type TrackerProofSigner } from './proof.ts';
export { compareRows, trackerRow, TrackerRow } from './rows.ts';
export { certificateSubjectHash, citizenSubjectHash, MAX_NODE_PAGE, NodeTrackerAnswer, NodeTrackerQuery, readTrackerEntries, type NodeTrackerContext } from './node-entries.ts';
export { decodeCursor, encodeCursor, federatedTracker, MAX_TRACKER_PAGE, NODE_TRACKER_PATH, TrackerAnswer, TrackerQuery, TrackerSource, type FederatedTrackerContext } from './federated.ts';
