import type { TongbanError } from '../errors/index.ts';
import type { Messaging, ReceivedMessage } from '../messaging/index.ts';
import { Case, CaseTransitionMessage, ThreadMessage } from './model.ts';
import { caseConversation, type CaseService } from './service.ts';

/** The kinds of case messages, as the older `POST /v1/cases/inbox` still takes them. */
export const caseMessageKinds = ['case.snapshot', 'case.transition', 'case.message'] as const;

/**
 * Cases on the node-to-node messaging module: a hand-off (`case.snapshot`), a step another
 * participant took (`case.transition`, replayed through the state machine) and a thread message
 * (`case.message`), each applied by the case service inside the inbox's transaction. A refusal is
 * recorded as `case.received` (outcome `refused`), after the rollback.
 */
export function registerCaseMessages(messages: Messaging, cases: CaseService): void {
  const refused = async (from: string, message: ReceivedMessage<unknown>, error: TongbanError) => {
    const payload = message.payload as { id?: unknown; caseId?: unknown } | null;
    const caseId = message.kind === 'case.snapshot' ? payload?.id : payload?.caseId;
    await cases.recordRefusal(from, message.kind, typeof caseId === 'string' ? caseId : undefined, error);
  };
  messages.register(
    'case.snapshot',
    Case,
    async (tx, message) => {
      const result = await cases.receiveSnapshot(tx, message.from, message.payload);
      return { result, afterCommit: () => cases.notifyReceived(message.payload) };
    },
    { refused, conversationOf: (c) => caseConversation(c.id) },
  );
  messages.register(
    'case.transition',
    CaseTransitionMessage,
    async (tx, message) => {
      const received = await cases.receiveTransition(tx, message.from, message.payload);
      return received ? { afterCommit: () => cases.notifyReceived(received) } : { result: 'stale' };
    },
    { refused, conversationOf: (m) => caseConversation(m.caseId) },
  );
  messages.register(
    'case.message',
    ThreadMessage,
    async (tx, message) => {
      const result = await cases.receiveMessage(tx, message.from, message.payload);
      return { result, ...(result === 'applied' ? { afterCommit: () => cases.notifyMessage(message.payload) } : {}) };
    },
    { refused, conversationOf: (m) => caseConversation(m.caseId) },
  );
}
