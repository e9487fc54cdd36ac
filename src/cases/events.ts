import type { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { Store } from '../store/index.ts';
import type { Case, ThreadMessage } from './model.ts';

/** The events a case service emits to its subscribers (the SSE stream). */
export type CaseEvents = EventEmitter<{ change: [Case]; message: [ThreadMessage] }>;

const TOPIC = 'case-events';

/** What crosses between replicas: ids only (NOTIFY payloads are small); each replica reads the rest. */
const Notice = z.object({ from: z.string().max(100), kind: z.enum(['change', 'message']), id: z.string().max(100) });

/**
 * Case events across the replicas of a node: a change or thread message emitted at one replica
 * is announced on the database (PostgreSQL NOTIFY, after the commit that made it), and every
 * other replica reads the committed case or message and emits it to its own subscribers, so a
 * counter's screen on replica A sees what a clerk did on replica B. Best effort, like the stream
 * itself: an event announced while a replica's listening connection is down is not replayed there
 * (the screen reloads the case on reconnect). Without notifications (SQLite: one process) nothing
 * is bridged. Returns the function that stops it.
 */
export async function bridgeCaseEvents(options: { store: Store; cases: CaseEvents; replica: string; log: (message: string) => void }): Promise<() => Promise<void>> {
  const { store, cases, replica, log } = options;
  const notifications = store.notifications;
  if (!notifications) return async () => {};
  // Events this bridge emitted on another replica's behalf: not announced again.
  const relayed = new WeakSet<object>();
  const report = (error: unknown) => log(`case events: ${error instanceof Error ? error.message : String(error)}`);
  const announce = (kind: 'change' | 'message', event: { id: string }) => {
    if (relayed.has(event)) return;
    notifications.notify(TOPIC, JSON.stringify({ from: replica, kind, id: event.id })).catch(report);
  };
  const onChange = (c: Case) => announce('change', c);
  const onMessage = (m: ThreadMessage) => announce('message', m);
  cases.on('change', onChange);
  cases.on('message', onMessage);
  const stop = await notifications.listen(TOPIC, (payload) => {
    let notice: z.infer<typeof Notice>;
    try {
      notice = Notice.parse(JSON.parse(payload));
    } catch {
      return;
    }
    if (notice.from === replica) return;
    void (async () => {
      if (notice.kind === 'change') {
        const c = await store.cases.get(notice.id);
        if (!c) return;
        relayed.add(c);
        cases.emit('change', c);
      } else {
        const m = await store.caseMessages.get(notice.id);
        if (!m) return;
        relayed.add(m);
        cases.emit('message', m);
      }
    })().catch(report);
  });
  return async () => {
    cases.off('change', onChange);
    cases.off('message', onMessage);
    await stop();
  };
}
