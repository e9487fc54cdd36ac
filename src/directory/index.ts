export {
  agreementKeysOf,
  DirectoryEntry,
  DirectorySnapshot,
  DirectoryView,
  keyBindingProblem,
  PreviousKey,
  PublishedService,
  signingKeyFor,
  signSnapshot,
  verifySnapshot,
  type KeyHolder,
  type RefusedAgreement,
} from './snapshot.ts';
export {
  buildRotationRequest,
  DEFAULT_OVERLAP_SECONDS,
  HubDirectory,
  MAX_OVERLAP_SECONDS,
  ROTATION_PROOF_TYP,
  RotationRequest,
  rotationStatuses,
  type EnrolmentOutcome,
  type RotationStatus,
  type HubDirectoryOptions,
} from './hub-directory.ts';
export { DirectoryClient, type DirectoryClientOptions } from './directory-client.ts';
export { enrolmentActionNames, enrolmentActions, enrolmentStates, enrolmentStep, type EnrolmentAction, type EnrolmentState } from './enrolment.ts';
