import { operatorActor, type AuditActor, type AuditLog } from '../audit/index.ts';
import type { PublicJwk, SigningKeySource } from '../crypto/index.ts';
import { TongbanError } from '../errors/index.ts';
import type { MessageSender } from '../messaging/index.ts';
import { z } from 'zod';
import type { Store, StoreOps } from '../store/index.ts';
import { changeHash, checkStateChange, emptyLifecycle, nextStateChange, signStateChange, StateChange, type Lifecycle, type LifecycleAction } from './lifecycle.ts';
import type { SignedAgreement } from './model.ts';
import type { AgreementStateSource } from './policy-index.ts';

/** What the service needs of the directory this node relies on (a DirectoryView). */
export interface LifecycleView {
  readonly agreements: readonly SignedAgreement[];
  node(division: string): { readonly signingKey: { kid: string; jwk: PublicJwk }; readonly previousKeys?: readonly { kid: string; jwk: PublicJwk }[] | undefined } | undefined;
}
export interface LifecycleDirectory {
  current(): Promise<LifecycleView>;
}

/** Where a state change came from: taken here, told by the hub (request or snapshot), or by a party directly. */
export type ChangeSource = 'local' | 'hub' | 'snapshot' | 'peer';

export interface AgreementLifecyclesOptions {
  readonly self: string;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly directory: LifecycleDirectory;
  readonly signingKey: SigningKeySource;
  readonly clock: () => Date;
  /** Told of every change applied here (the hub re-issues its snapshot). */
  readonly onApplied?: (change: StateChange) => void;
  /**
   * Node-to-node messaging: a change this node takes is enqueued for every other party in the
   * transaction that records it, and delivered exactly once even to a party that is down now.
   */
  readonly messages?: MessageSender;
  /** This process among the replicas of the node: a change it records is announced to the others under this name. */
  readonly replica?: string;
  /** Where a failed announcement or reload is reported. */
  readonly log?: (message: string) => void;
  /** How long the count refresh() shares may take before its callers fail (default 10 s). */
  readonly countTimeoutMs?: number;
}

/** The topic on which a replica announces a change it recorded (PostgreSQL NOTIFY; ids only). */
export const STATE_TOPIC = 'agreement-state';
const StateNotice = z.object({ from: z.string().max(100), agreementId: z.string().max(200), seq: z.number().int().nonnegative() });

/** The message kind that carries a party's signed state change to the other parties. */
export const STATE_MESSAGE_KIND = 'agreement.state';

/**
 * The lifecycle of every agreement at one node: the state each one is in (read by every
 * exchange decision, so a change takes effect at the next request), the operator's own steps
 * (signed by this node) and the changes other parties took, applied only once they verify
 * against the directory's keys for a party of the agreement in force. Every change applied or
 * refused goes into this node's audit log.
 */
export class AgreementLifecycles implements AgreementStateSource {
  readonly #options: AgreementLifecyclesOptions;
  #byId = new Map<string, Lifecycle>();
  /** How many recorded changes the states above hold (compared with the store's count by refresh()). */
  #count = 0;
  #loaded = false;
  /** One change at a time: the chain is checked against the state it extends. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: AgreementLifecyclesOptions) {
    this.#options = options;
  }

  /** Rebuilds the states from this node's own records (verified when they were recorded). */
  load(): Promise<void> {
    return this.#serial(() => this.#reload());
  }

  /**
   * Takes the changes other replicas of this node recorded since this one last read them
   * (several processes on one database): one count of the recorded changes, and a reload when
   * it differs. Read before every decision that must not act on a stale state (an exchange, a
   * consent, a step), so a suspension stored at one replica is in force at the others from their
   * next decision on.
   */
  async refresh(): Promise<void> {
    // Counted outside the queue (decisions at once do not wait on each other); reloaded in it.
    const counted = await this.#countStartedAfterNow();
    if (counted === this.#count) return;
    // A reload queued before this one may already hold what was counted (changes are only ever
    // added); any other difference (a restored database) reloads too.
    await this.#serial(async () => {
      if (this.#count !== counted) await this.#reload();
    });
  }

  /** The count in flight, and the one that starts when it ends (shared by every caller meanwhile). */
  #counting: Promise<number> | undefined;
  #nextCount: Promise<number> | undefined;

  /**
   * A count of the recorded changes read after this call (so it sees every change committed
   * before it), shared with the callers that came at the same time: under load, one query per
   * round trip instead of one per decision. A caller arriving while a count runs does not take
   * its answer (that read may predate a change the caller must see); it waits for the next one.
   */
  #countStartedAfterNow(): Promise<number> {
    const start = (): Promise<number> => {
      const counting = withinTime(this.#options.store.agreementStates.count(), this.#options.countTimeoutMs ?? COUNT_TIMEOUT_MS);
      this.#counting = counting;
      const done = () => {
        if (this.#counting === counting) this.#counting = undefined;
      };
      counting.then(done, done);
      return counting;
    };
    if (!this.#counting) return start();
    this.#nextCount ??= this.#counting.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      this.#nextCount = undefined;
      return start();
    });
    return this.#nextCount;
  }

  /**
   * Listens for the changes other replicas record (the store's notifications: PostgreSQL
   * LISTEN/NOTIFY), and reloads at once when told, so what is read from memory (the hub's
   * snapshot trigger, dashboards, standings) follows too. Best effort like every notification:
   * refresh() is what decisions rely on. Nothing to do on SQLite (one process). Returns the
   * function that stops listening.
   */
  async listen(): Promise<() => Promise<void>> {
    const notifications = this.#options.store.notifications;
    const replica = this.#options.replica;
    if (!notifications || replica === undefined) return async () => {};
    return notifications.listen(STATE_TOPIC, (payload) => {
      const notice = StateNotice.safeParse(parseJson(payload));
      if (!notice.success || notice.data.from === replica) return;
      if (this.lifecycle(notice.data.agreementId).seq >= notice.data.seq) return;
      this.refresh().catch((error: unknown) => this.#report('reloading agreement states', error));
    });
  }

  async #refreshNow(): Promise<void> {
    if ((await this.#options.store.agreementStates.count()) !== this.#count) await this.#reload();
  }

  /**
   * refresh() within a caller's transaction, outside the queue (a step waiting in the queue may
   * be waiting for this very transaction to commit). Replacing the states at once is safe out of
   * turn: they are whatever the database held; a count left off by a step applied meanwhile only
   * causes one more reload.
   */
  async #refreshIn(tx: StoreOps): Promise<void> {
    if ((await tx.agreementStates.count()) !== this.#count) await this.#reload(tx);
  }

  /** Reads every recorded change; the states in memory are replaced at once (a reader never sees them half built). */
  async #reload(ops: StoreOps = this.#options.store): Promise<void> {
    const rows = await ops.agreementStates.list();
    const byId = new Map<string, Lifecycle>();
    for (const row of rows) {
      const change = StateChange.parse(JSON.parse(Buffer.from(row.jws.split('.')[1] ?? '', 'base64url').toString('utf8')));
      const lifecycle = byId.get(row.agreementId) ?? emptyLifecycle(row.agreementId);
      byId.set(row.agreementId, {
        agreementId: row.agreementId,
        state: change.to === 'expired' ? lifecycle.state : change.to,
        seq: change.seq,
        head: changeHash(row.jws),
        suspendedBy: change.to === 'suspended' ? change.party : null,
        changes: [...lifecycle.changes, { jws: row.jws, change }],
      });
    }
    const before = this.#byId;
    const first = !this.#loaded;
    this.#byId = byId;
    this.#count = rows.length;
    this.#loaded = true;
    // Changes another replica recorded: told as if applied here (the hub re-issues its snapshot).
    if (this.#options.onApplied && !first) {
      for (const lifecycle of byId.values()) {
        const known = before.get(lifecycle.agreementId)?.seq ?? 0;
        for (const { change } of lifecycle.changes) if (change.seq > known) this.#options.onApplied(change);
      }
    }
  }

  #report(what: string, error: unknown): void {
    this.#options.log?.(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }

  stateOf(agreementId: string): 'active' | 'suspended' | 'terminated' {
    return this.#byId.get(agreementId)?.state ?? 'active';
  }

  suspendedBy(agreementId: string): string | null {
    return this.#byId.get(agreementId)?.suspendedBy ?? null;
  }

  lifecycle(agreementId: string): Lifecycle {
    return this.#byId.get(agreementId) ?? emptyLifecycle(agreementId);
  }

  /** Every recorded change (the hub publishes them in its snapshot). */
  allChanges(): string[] {
    return [...this.#byId.values()].flatMap((l) => l.changes.map((c) => c.jws));
  }

  /**
   * This node's operator or data administrator takes a step: checked against the table, signed by this node, applied here at once.
   * `by.actor` is the name signed into the change; `by.caller` who authenticated (the audit entry's actor; the operator token when absent).
   */
  act(agreementId: string, action: LifecycleAction, by: { actor: string; reason: string | undefined; caller?: AuditActor }): Promise<{ change: StateChange; jws: string; agreement: SignedAgreement }> {
    return this.#serial(async () => {
      const { self, clock, signingKey } = this.#options;
      const view = await this.#options.directory.current();
      await this.#refreshNow();
      try {
        const signed = inForce(view, agreementId);
        const change = nextStateChange(this.lifecycle(agreementId), signed.agreement, action, { party: self, actor: by.actor }, by.reason, clock());
        const jws = await signStateChange(change, signingKey.current());
        const { messages } = this.#options;
        await this.#apply(view, signed, jws, 'local', self, by.caller, async (tx) => {
          if (!messages) return;
          for (const party of signed.agreement.parties.filter((p) => p !== self)) {
            await messages.send(tx, { destination: party, kind: STATE_MESSAGE_KIND, conversation: `agreement:${agreementId}`, payload: { change: jws } });
          }
        });
        messages?.kick();
        return { change, jws, agreement: signed };
      } catch (error) {
        if (error instanceof TongbanError && error.code !== 'AGREEMENT_STATE_CONFLICT') {
          await this.#options.audit.append({ kind: 'agreement.state', outcome: 'refused', code: error.code, agreementId, operator: by.actor.slice(0, 100), actor: by.caller ?? operatorActor(self), detail: { action, source: 'local', reason: error.message.slice(0, 300) } });
        }
        throw error;
      }
    });
  }

  /**
   * A state change another party took, from the hub or the party itself. Applied when it is
   * the next in the chain and signed by the party it names; a replay of a change already held
   * is no change; anything else is refused (audited) with AGREEMENT_STATE_INVALID or _CONFLICT.
   */
  receive(jws: string, source: Exclude<ChangeSource, 'local'>, from: string | undefined, given?: LifecycleView): Promise<{ applied: boolean; change: StateChange }> {
    return this.#receive(jws, source, from, given, true);
  }

  #receive(jws: string, source: Exclude<ChangeSource, 'local'>, from: string | undefined, given: LifecycleView | undefined, refresh: boolean): Promise<{ applied: boolean; change: StateChange }> {
    return this.#serial(async () => {
      const agreementId = peekAgreementId(jws) ?? '';
      const view = given ?? (await this.#options.directory.current());
      let signed: SignedAgreement;
      try {
        signed = inForce(view, agreementId);
      } catch (error) {
        if (error instanceof TongbanError) {
          await this.#options.audit.append({ kind: 'agreement.state', outcome: 'refused', code: error.code, ...(agreementId ? { agreementId: agreementId.slice(0, 80) } : {}), ...(from ? { requester: from } : {}), detail: { source } });
        }
        throw error;
      }
      if (refresh) await this.#refreshNow();
      return this.#apply(view, signed, jws, source, from, undefined);
    });
  }

  /**
   * Whether `jws` would apply now, without applying it (a message handler checks inside the
   * inbox's transaction and applies once it has committed). Throws the refusal.
   */
  async check(jws: string, tx?: StoreOps): Promise<StateChange> {
    // Inside the caller's transaction its own connection reads (SQLite has one: another read would wait for the commit).
    if (tx) await this.#refreshIn(tx);
    else await this.refresh();
    const view = await this.#options.directory.current();
    const signed = inForce(view, peekAgreementId(jws) ?? '');
    const result = await checkStateChange(this.lifecycle(signed.agreement.id), signed.agreement, jws, keysIn(view));
    if (!result.ok) throw new TongbanError(result.code, `The state change of ${signed.agreement.id} is refused: ${result.reason}.`);
    return result.change;
  }

  /** The changes a snapshot carries, in order, checked against that snapshot's view; those that do not apply are audited and skipped. */
  async receiveAll(changes: readonly string[], from: string, view: LifecycleView): Promise<number> {
    let applied = 0;
    // Once for the whole snapshot (it carries every change; most are held already).
    await this.refresh();
    for (const jws of changes) {
      try {
        if ((await this.#receive(jws, 'snapshot', from, view, false)).applied) applied++;
      } catch {
        // Refused and audited in #apply; the others still count.
      }
    }
    return applied;
  }

  async #apply(
    view: LifecycleView,
    signed: SignedAgreement,
    jws: string,
    source: ChangeSource,
    from: string | undefined,
    caller: AuditActor | undefined,
    alsoInTransaction?: (tx: StoreOps) => Promise<void>,
  ): Promise<{ applied: boolean; change: StateChange }> {
    const { store, audit, clock, self } = this.#options;
    const id = signed.agreement.id;
    const before = this.lifecycle(id);
    const check = await checkStateChange(before, signed.agreement, jws, keysIn(view));
    if (!check.ok) {
      await audit.append({ kind: 'agreement.state', outcome: 'refused', code: check.code, agreementId: id, ...(from ? { requester: from } : {}), detail: { source, reason: check.reason.slice(0, 300) } });
      throw new TongbanError(check.code, `The state change of ${id} is refused: ${check.reason}.`);
    }
    const { change } = check;
    if (check.lifecycle === before) return { applied: false, change };
    const record = {
      agreementId: id,
      seq: change.seq,
      action: change.action,
      state: change.to,
      party: change.party,
      actor: change.actor,
      reason: change.reason,
      at: change.at,
      jws,
      recordedAt: clock().toISOString(),
    };
    // The record and the messages announcing it commit together, or neither does.
    const recorded = alsoInTransaction
      ? await store.transaction(async (tx) => {
          if (!(await tx.agreementStates.add(record))) return false;
          await alsoInTransaction(tx);
          return true;
        })
      : await store.agreementStates.add(record);
    if (!recorded) {
      // Another replica recorded a change with this number meanwhile: take the database's view.
      await this.#reload();
      throw new TongbanError('AGREEMENT_STATE_CONFLICT', `Change ${change.seq} of ${id} was recorded meanwhile; look again.`);
    }
    this.#byId.set(id, check.lifecycle);
    // The count is only ever what a read of the database said: left behind here, the next refresh()
    // reloads once. Counted up instead, a reload racing this step could leave it one ahead, and a
    // change another replica records next would then go unseen.
    this.#announce(id, change.seq);
    // Who (the operator at the party's node), which node, when, why: in every party's log.
    await audit.append({
      kind: 'agreement.state',
      outcome: 'allowed',
      agreementId: id,
      requester: change.party,
      operator: change.actor,
      // A step this node took (through its operator API): who authenticated. Another party's step names its node in `requester`.
      ...(source === 'local' ? { actor: caller ?? operatorActor(self) } : {}),
      detail: { action: change.action, from: change.from, to: change.to, seq: change.seq, at: change.at, reason: change.reason, source, ...(from && from !== self ? { via: from } : {}) },
    });
    this.#options.onApplied?.(change);
    return { applied: true, change };
  }

  /** Tells the other replicas (after the commit that recorded it); they reload. */
  #announce(agreementId: string, seq: number): void {
    const { store, replica } = this.#options;
    if (!store.notifications || replica === undefined) return;
    store.notifications.notify(STATE_TOPIC, JSON.stringify({ from: replica, agreementId, seq })).catch((error: unknown) => this.#report('announcing an agreement state change', error));
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * How long a shared count may take. Every decision meanwhile waits on it, so a query stuck on a
 * broken connection would otherwise hold them all: it fails them (STORE_UNAVAILABLE) instead,
 * and the next refresh starts a new count.
 */
const COUNT_TIMEOUT_MS = 10_000;

function withinTime<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TongbanError('STORE_UNAVAILABLE', `The database did not answer within ${ms / 1000} s.`)), ms);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** The keys a party may sign a state change with: its current one and those it rotated away from. */
function keysIn(view: LifecycleView): (division: string) => { kid: string; jwk: PublicJwk }[] {
  return (division) => {
    const entry = view.node(division);
    return entry ? [entry.signingKey, ...(entry.previousKeys ?? []).map(({ kid, jwk }) => ({ kid, jwk }))] : [];
  };
}

function inForce(view: LifecycleView, agreementId: string): SignedAgreement {
  const signed = view.agreements.find((s) => s.agreement.id === agreementId);
  if (!signed) throw new TongbanError('AGREEMENT_NOT_FOUND', `No registered agreement ${agreementId}.`);
  return signed;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The agreement a change names, read before it is verified (to find the agreement to verify it against). */
function peekAgreementId(jws: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as { agreementId?: unknown };
    return typeof payload.agreementId === 'string' ? payload.agreementId : undefined;
  } catch {
    return undefined;
  }
}
