export {
  Agreement,
  AgreementItem,
  Grant,
  PartySignature,
  SignedAgreement,
  Permission,
  SecurityDuties,
  ServiceLevels,
  StaffRole,
  staffRoles,
} from './model.ts';
export { signAgreement, signRound, verifyTermsSignature, verifyAgreementSignatures, checkAgreementSuccession, agreementBytes, type AgreementCheck, type SuccessionCheck } from './signing.ts';
export { PolicyIndex, type AccessRequest, type Decision, type DenialCode } from './policy-index.ts';
export { type AgreementStateSource } from './policy-index.ts';
export {
  agreementLifecycleActions,
  agreementStates,
  changeHash,
  checkStateChange,
  emptyLifecycle,
  lifecycleActionNames,
  nextStateChange,
  describeStanding,
  signStateChange,
  standingOf,
  stateAt,
  StateChange,
  STATE_CHANGE_TYP,
  type AgreementStanding,
  type AgreementState,
  type Lifecycle,
  type LifecycleAction,
  type StateChangeCheck,
} from './lifecycle.ts';
export { AgreementLifecycles, STATE_MESSAGE_KIND, type AgreementLifecyclesOptions, type ChangeSource, type LifecycleDirectory, type LifecycleView } from './lifecycle-service.ts';
export { registerAgreementStateMessages } from './lifecycle-messages.ts';
export { agreementInForce } from './in-force.ts';
export { diffTerms, formatChange, formatDiff, type Change } from './diff.ts';
export {
  Negotiation,
  NegotiationActor,
  NegotiationState,
  NegotiationTransition,
  Round,
  TemplateOrigin,
  negotiationStates,
  termsHash,
  partiesOf,
  latestRound,
} from './negotiation-model.ts';
export { MAX_NEGOTIATION_BYTES, MAX_NEGOTIATION_ROUNDS, negotiationActions, negotiationActionNames, applyNegotiationAction, openNegotiation, type NegotiationAction, type NegotiationInput, type NewNegotiation } from './negotiation.ts';
export { AgreementTemplate, TemplateParams, resolveTemplate, instantiateTemplate, diffFromTemplate } from './templates.ts';
export { templateLibrary } from './template-library.ts';
export { NegotiationService, NegotiationStep, describeNegotiation, parseDraftRequest, type DraftRequest } from './negotiation-service.ts';
export { learningReport, learningRecord, type LearningReport, type LearningRecord, type LearningGroup } from './learning.ts';
