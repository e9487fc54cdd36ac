import { useEffect, useRef } from 'react';

/** A `case` event: a case the caller may see changed (GET /v1/cases/events). */
export interface CaseEvent {
  readonly id: string;
  readonly state: string;
  readonly version: number;
  readonly updatedAt: string;
}
/** A `message` event: a post to a case's consultation thread (staff only). */
export interface MessageEvent {
  readonly caseId: string;
  readonly id: string;
  readonly node: string;
  readonly escalation: boolean;
}
export type LiveEvent = { kind: 'case'; data: CaseEvent } | { kind: 'message'; data: MessageEvent };
type Listener = (event: LiveEvent) => void;

/**
 * One event stream per page, shared by every view that listens (the node limits streams per
 * person): opened with the first listener, closed with the last. The browser reconnects by itself
 * after a dropped connection; views refresh on the events, never on a timer.
 */
const listeners = new Set<Listener>();
let source: EventSource | undefined;

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function open(): void {
  source = new EventSource('/v1/cases/events', { withCredentials: true });
  const dispatch = (kind: LiveEvent['kind']) => (e: Event) => {
    const data = parse((e as globalThis.MessageEvent<string>).data);
    if (typeof data !== 'object' || data === null) return;
    const event = { kind, data } as LiveEvent;
    for (const listener of [...listeners]) listener(event);
  };
  source.addEventListener('case', dispatch('case'));
  source.addEventListener('message', dispatch('message'));
}

function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  if (!source) open();
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && source) {
      source.close();
      source = undefined;
    }
  };
}

/**
 * Calls `onEvent` for every live event while the view is shown (the latest `onEvent`, without
 * resubscribing when it changes); the stream closes when the last view that listens goes.
 */
export function useLiveEvents(onEvent: Listener, enabled = true): void {
  const latest = useRef(onEvent);
  useEffect(() => {
    latest.current = onEvent;
  });
  useEffect(() => {
    if (!enabled) return;
    return subscribe((event) => latest.current(event));
  }, [enabled]);
}

/**
 * Runs `refresh` after the live events `relevant` picks (all by default), at most once per burst:
 * a step that changes several cases, or a case and its thread, reloads the view once.
 */
export function useLiveRefresh(refresh: () => void, relevant: (event: LiveEvent) => boolean = () => true, enabled = true): void {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  useLiveEvents((event) => {
    if (!relevant(event)) return;
    clearTimeout(timer.current);
    timer.current = setTimeout(refresh, 200);
  }, enabled);
}
