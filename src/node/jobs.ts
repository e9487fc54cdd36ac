import { witnessCheckpoint } from '../audit/index.ts';
import { signJws } from '../crypto/index.ts';
import { signedRequestHeaders } from '../exchange/index.ts';
import { probeNodes } from '../governance/index.ts';
import { PeriodicWork } from './periodic.ts';
import type { NodeRuntime } from './runtime.ts';

export interface BackgroundJobs {
  /** Clears the timers and waits for the jobs still running. */
  stop(): Promise<void>;
  /** Checkpoints the audit head now, if this replica does the node's periodic work (a graceful stop's last word to the hub). */
  checkpoint(): Promise<void>;
  /** Gives up the periodic-work lease: another replica takes the work over at once. */
  release(): Promise<void>;
  /** The periodic work: ticks run at the replica holding the node's lease only. */
  readonly periodic: PeriodicWork;
}

export const CHECKPOINT_TYP = 'tongban-checkpoint+jws';
/** How often the hub probes each node's /health. */
export const PROBE_INTERVAL_SECONDS = 60;

/**
 * The timers a node runs besides serving requests: directory refresh and enrolment at the
 * hub (nodes), escalation of overdue cases, audit checkpoints, and clean-up of the replay cache.
 * With several replicas of the node on one database, the periodic work runs at one of them, the
 * holder of the node's lease (PeriodicWork), which also fetches the directory from the hub; the
 * other replicas refresh their copy from the snapshot it stored, and each delivers the outbox
 * (under its own claims).
 */
export async function startBackgroundJobs(runtime: NodeRuntime, endpoint: string, log: (m: string) => void): Promise<BackgroundJobs> {
  const { config } = runtime;
  const leaseMs = config.replicas.leaseSeconds * 1000;
  const periodic = new PeriodicWork({ store: runtime.store, holder: runtime.replica, clock: runtime.clock, leaseMs, log });
  // With replicas (PostgreSQL) the directory is fetched from the hub once per node: by the lease
  // holder; the others take what it stored. On SQLite the node is one process: it always asks the
  // hub, even while the lease of a killed predecessor runs out.
  if (runtime.directoryClient && runtime.store.dialect === 'postgres') runtime.directoryClient.holdsLease = () => periodic.hold();
  const report = (error: unknown) => log(`background job failed: ${error instanceof Error ? error.message : String(error)}`);
  // The holder renews its lease well before it runs out; the others try to take it at the same pace.
  periodic.every('lease', Math.max(0.2, config.replicas.leaseSeconds / 3), async () => {});

  if (config.node.role === 'node') {
    let enrolled = false;
    const enrol = async () => {
      if (enrolled) return;
      enrolled = await enrolAtHub(runtime, endpoint, log);
      // Pick the directory up at once when the hub approves us.
      if (enrolled) await runtime.directoryClient!.refresh();
    };
    // Starting the directory also switches to a pending key the snapshot already lists as current.
    await runtime.directoryClient!.start();
    await enrol();
    periodic.every('enrolment', Math.max(1, config.directory.refreshSeconds), enrol);
    // A pending key rotation: approved (switch) or rejected (stay) — asked of the hub while it waits.
    periodic.every('key-rotation', Math.max(1, config.directory.refreshSeconds), () => runtime.rotation!.check(true));
  }

  runtime.messages.start();
  periodic.every('escalation', config.cases.escalationSeconds, async () => {
    const escalated = await runtime.cases.escalateOverdue();
    if (escalated.length > 0) log(`escalated ${escalated.length} overdue case(s) to the supervisor: ${escalated.join(', ')}`);
  });

  // Checkpoints: on a timer, once `checkpointEntries` entries are unwitnessed, at start (a tail
  // rewritten while the node was down is caught at once) and at a graceful stop. One at a time,
  // so they reach the hub in order, and only at the lease holder: replicas taking turns would
  // race each other's checkpoints. A replica's first checkpoint is of the head as it finds it,
  // even if already witnessed: that is what catches a tail rewritten in between.
  let lastCheckpointSeq = 0;
  let queue: Promise<void> = Promise.resolve();
  let queued = false;
  const checkpoint = (): Promise<void> => {
    queued = true;
    const run = queue.then(async () => {
      queued = false;
      lastCheckpointSeq = await sendCheckpoint(runtime, lastCheckpointSeq);
    });
    queue = run.catch(() => {});
    return run;
  };
  const onHead = (seq: number) => {
    if (periodic.held() && !queued && seq - lastCheckpointSeq >= config.audit.checkpointEntries) void checkpoint().catch(report);
  };
  runtime.audit.onAppended(onHead);
  periodic.every('checkpoint', config.audit.checkpointSeconds, checkpoint);
  // Entries appended inside other transactions (cases) bypass onAppended: look at the head too.
  periodic.every('checkpoint-head', Math.min(1, config.audit.checkpointSeconds), async () => {
    const head = await runtime.store.audit.head();
    if (head) onHead(head.seq);
  });
  void periodic.tick('checkpoint');
  if (config.node.role === 'hub') {
    // Availability and latency of every approved node, for the trust dashboard (src/governance): once per hub, whatever its replicas.
    periodic.every('probe', PROBE_INTERVAL_SECONDS, async () => {
      await probeNodes({ store: runtime.store, directory: runtime.exchange.directory, clock: runtime.clock });
    });
  }
  periodic.every('purge', 60, async () => {
    await runtime.store.nonces.purge(Math.floor(runtime.clock().getTime() / 1000));
    await runtime.store.certificateChallenges.purge(runtime.clock().getTime());
  });

  return {
    periodic,
    stop: () => periodic.stop(),
    checkpoint: async () => {
      await runtime.audit.idle();
      if (await periodic.hold()) await checkpoint();
    },
    release: () => periodic.release(),
  };
}

/** Asks the hub to list this node (or to update its endpoint and services). True once the hub accepted it. */
export async function enrolAtHub(runtime: NodeRuntime, endpoint: string, log: (m: string) => void): Promise<boolean> {
  const url = new URL('/v1/directory/enrolments', runtime.config.hub!.url).toString();
  const body = JSON.stringify(runtime.entry(endpoint));
  try {
    const headers = await signedRequestHeaders(runtime.signingKey, url, body, runtime.clock());
    const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
    if (response.ok) {
      const { status } = (await response.json()) as { status: string };
      log(`enrolled at the hub (status: ${status})`);
      return true;
    }
    log(`the hub refused the enrolment: ${response.status} ${await response.text()}`);
  } catch (error) {
    log(`cannot reach the hub to enrol (${error instanceof Error ? error.message : String(error)}); will retry`);
  }
  return false;
}

/**
 * Signs the audit chain head and has the hub witness it; the hub keeps the node's checkpoints,
 * so the node cannot rewrite its history unnoticed. Returns the last witnessed seq.
 */
export async function sendCheckpoint(runtime: NodeRuntime, lastSeq: number): Promise<number> {
  const head = await runtime.store.audit.head();
  if (!head || head.seq <= lastSeq) return lastSeq;
  const division = runtime.config.node.division;
  const at = runtime.clock().toISOString();
  const jws = await signJws(runtime.signingKey, new TextEncoder().encode(JSON.stringify({ division, seq: head.seq, hash: head.hash, at })), {
    typ: CHECKPOINT_TYP,
  });
  if (runtime.config.node.role === 'node') {
    const url = new URL('/v1/audit/checkpoints', runtime.config.hub!.url).toString();
    const body = JSON.stringify({ jws });
    const headers = await signedRequestHeaders(runtime.signingKey, url, body, runtime.clock());
    const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
    if (!response.ok) {
      const problem = (await response.json().catch(() => ({}))) as { code?: string; detail?: string };
      throw new Error(`the hub refused checkpoint ${head.seq}: ${response.status} ${problem.code ?? ''} ${problem.detail ?? ''}`.trim());
    }
    await runtime.store.checkpoints.add({ division, seq: head.seq, hash: head.hash, at, jws });
  } else {
    // The hub witnesses itself under the same rules as every node.
    await witnessCheckpoint(runtime.store, runtime.audit, { division, seq: head.seq, hash: head.hash, at }, jws, runtime.clock);
  }
  return head.seq;
}
