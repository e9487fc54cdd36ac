export { Agreement, AgreementItem, Grant, PartySignature, SignedAgreement } from './model.ts';
export { signAgreement, verifyAgreementSignatures, checkAgreementSuccession, agreementBytes, type AgreementCheck, type SuccessionCheck } from './signing.ts';
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
  signStateChange,
  stateAt,
  StateChange,
  STATE_CHANGE_TYP,
  type AgreementState,
  type Lifecycle,
  type LifecycleAction,
  type StateChangeCheck,
} from './lifecycle.ts';
export { AgreementLifecycles, STATE_MESSAGE_KIND, type AgreementLifecyclesOptions, type ChangeSource, type LifecycleDirectory, type LifecycleView } from './lifecycle-service.ts';
export { registerAgreementStateMessages } from './lifecycle-messages.ts';
