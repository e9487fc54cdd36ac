export { Case, CaseState, Actor, Transition, Material, Shipment, Part, Evidence, ThreadMessage, ActionInputSchema, CaseTransitionMessage, caseStates, participantsOf, TERMINAL_STATES, CLOCK_STOPPED_STATES } from './model.ts';
export { applyCaseAction, actingRole, handOffRefusal, openCase, caseActions, caseActionNames, staffCaseActionNames, type CaseAction, type StaffCaseAction, type ActionInput, type NewCase } from './state-machine.ts';
export { WorkingCalendar, caseTimeStatus, cstDate, type TimeStatus } from './calendar.ts';
export { CaseService, DECISION_QUEUE_STATES, caseConversation, isApplicant, type Principal, type CaseContext, type CaseView, type ApplyInput, type ConcludeHook, type ConcludeWrite } from './service.ts';
export { principalFor } from './principal.ts';
export { registerCaseMessages, caseMessageKinds } from './messages.ts';
export { bridgeCaseEvents, type CaseEvents } from './events.ts';
