import { z } from 'zod';
import { TongbanError } from '../errors/index.ts';
import type { Messaging } from '../messaging/index.ts';
import { STATE_MESSAGE_KIND, type AgreementLifecycles } from './lifecycle-service.ts';

const StateMessage = z.object({ change: z.string().min(20).max(8000) });

/**
 * Agreement state changes on the node-to-node messaging module: the party that took a step sends
 * its signed change to every other party, delivered exactly once even to a party that was down.
 * The change is checked inside the inbox's transaction (a change that does not verify, is not the
 * sender's own, or does not follow the chain is refused, and the sender stops retrying) and
 * applied once that transaction has committed; a change the node already holds (from the direct
 * request or the snapshot) is stale.
 */
export function registerAgreementStateMessages(messages: Messaging, lifecycles: AgreementLifecycles): void {
  messages.register(STATE_MESSAGE_KIND, StateMessage, async (tx, message) => {
    const change = await lifecycles.check(message.payload.change, tx);
    if (change.party !== message.from) throw new TongbanError('AGREEMENT_STATE_INVALID', `${message.from} sent a change taken by ${change.party}; a party sends its own.`);
    if (lifecycles.lifecycle(change.agreementId).seq >= change.seq) return { result: 'stale' };
    return {
      afterCommit: () => {
        // Refusals are audited by the service; the message itself was checked above.
        lifecycles.receive(message.payload.change, 'peer', message.from).catch(() => undefined);
      },
    };
  });
}
