import { z } from 'zod';
import { operatorActor, type AuditLog } from '../audit/index.ts';
import type { NodeConfig } from '../config/index.ts';
import { buildRotationRequest, rotationStatuses, type DirectoryView } from '../directory/index.ts';
import { errorCodes, TongbanError, type ErrorCode } from '../errors/index.ts';
import { signedRequestHeaders, type DirectorySource } from '../exchange/index.ts';
import type { Store } from '../store/index.ts';
import { keyFiles, type KeyRing } from './key-ring.ts';

/** Where this node's latest key rotation stands (kept in its settings; the private keys stay in files). */
export const RotationRecord = z.object({
  kid: z.string(),
  previousKid: z.string(),
  /** unsent: the hub has not taken the request (unreachable or refused); pending: waiting for the administrator. */
  status: z.enum(['unsent', 'pending', 'approved', 'rejected']),
  overlapSeconds: z.number().nullable(),
  requestedAt: z.string(),
  decidedAt: z.string().nullable(),
  /** Why the hub did not take it (unsent), or how the node learnt the decision. */
  detail: z.string().nullable(),
});
export type RotationRecord = z.infer<typeof RotationRecord>;

/** What `tongban keys status` shows. */
export const KeyStatus = z.object({
  division: z.string(),
  algorithm: z.enum(['Ed25519', 'SM2']),
  current: z.object({ kid: z.string(), file: z.string() }),
  pending: z.object({ kid: z.string(), file: z.string() }).nullable(),
  rotation: RotationRecord.nullable(),
});
export type KeyStatus = z.infer<typeof KeyStatus>;

const RotationStatusAnswer = z.object({ status: z.enum(rotationStatuses), currentKid: z.string().nullable() });

const SETTING = 'keys.rotation';

export interface KeyRotationOptions {
  readonly config: NodeConfig;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly keys: KeyRing;
  readonly directory: DirectorySource;
  /** Fetches the directory from the hub now (a new view reaches `onView`). */
  readonly refreshDirectory: () => Promise<unknown>;
  readonly clock: () => Date;
  readonly log: (message: string) => void;
}

/**
 * The node side of a key rotation. The operator asks for it: a new key of the node's algorithm
 * waits in its own 0600 file while the hub administrator decides, and the node keeps signing
 * with its current key. Once a verified directory snapshot lists the new key as this node's
 * current key, the node switches to it (no restart); if the administrator rejects it, the node
 * stays on its key and the pending key is deleted. Every step is in the node's audit log.
 */
export class KeyRotation {
  readonly #o: KeyRotationOptions;
  /** Requests, promotions and rejections one at a time. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: KeyRotationOptions) {
    this.#o = options;
  }

  #serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(job);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #record(): Promise<RotationRecord | undefined> {
    const parsed = RotationRecord.safeParse(await this.#o.store.settings.get(SETTING));
    return parsed.success ? parsed.data : undefined;
  }

  async status(): Promise<KeyStatus> {
    const { config, keys } = this.#o;
    const files = keyFiles(config);
    const pending = keys.pending();
    return {
      division: config.node.division,
      algorithm: config.keys.algorithm,
      current: { kid: keys.current().kid, file: files.current },
      pending: pending ? { kid: pending.kid, file: files.pending } : null,
      rotation: (await this.#record()) ?? null,
    };
  }

  /**
   * Asks the hub to rotate this node's signing key, signed with the current key; the new key
   * stays pending. Asking again while it is pending re-sends the same key (a retry never makes
   * a second key); after a rejection a new key is made.
   */
  request(currentKid: string, overlapSeconds?: number): Promise<KeyStatus> {
    return this.#serial(async () => {
      const { config, store, audit, keys, clock } = this.#o;
      const self = config.node.division;
      // The operator rotates the key they saw: never a second rotation by a repeated or stale call.
      if (currentKid !== keys.current().kid) {
        throw new TongbanError('KEY_ROTATION_CONFLICT', `${self} signs with ${keys.current().kid}, not ${currentKid}; look at its key status and ask again.`);
      }
      const view = await this.#o.directory.current();
      // Approved already (a snapshot this node has not acted on yet): switch, and say so.
      if (await this.#promoteIfListed(view)) return this.status();
      const entry = view.node(self);
      if (!entry) throw new TongbanError('NODE_NOT_APPROVED', `${self} is not in the directory yet: a key is rotated once the hub has approved the node.`);
      const current = keys.current();
      if (entry.signingKey.kid !== current.kid) {
        throw new TongbanError('KEY_ROTATION_CONFLICT', `The directory lists ${entry.signingKey.kid} for ${self}, not the key this node signs with (${current.kid}); it cannot ask for a rotation.`);
      }
      const next = await keys.preparePending();
      const previous = await this.#record();
      const requestedAt = clock().toISOString();
      const record: RotationRecord = {
        kid: next.kid,
        previousKid: current.kid,
        status: 'unsent',
        overlapSeconds: overlapSeconds ?? null,
        requestedAt: previous?.kid === next.kid ? previous.requestedAt : requestedAt,
        decidedAt: null,
        detail: null,
      };
      if (!(await store.keys.list()).some((k) => k.kid === next.kid)) {
        await store.keys.add({ kid: next.kid, alg: next.algorithm, publicJwk: next.publicJwk, status: 'pending', createdAt: requestedAt });
      }
      const body = JSON.stringify(await buildRotationRequest(entry, next, overlapSeconds));
      // Asked through the operator API: the operator token is who authenticated.
      const event = { kind: 'key.rotation.request', requester: self, actor: operatorActor(self), detail: { from: current.kid, to: next.kid, overlapSeconds: overlapSeconds ?? null } };
      const url = new URL('/v1/directory/rotations', config.hub!.url).toString();
      let response: Response;
      try {
        response = await fetch(url, { method: 'POST', headers: await signedRequestHeaders(current, url, body, clock()), body, signal: AbortSignal.timeout(10_000) });
      } catch (error) {
        await store.settings.put(SETTING, { ...record, detail: 'the hub did not answer' });
        await audit.append({ ...event, outcome: 'error', code: 'HUB_UNREACHABLE' });
        throw new TongbanError('HUB_UNREACHABLE', `The hub did not answer at ${config.hub!.url}; the new key waits in ${keyFiles(config).pending}, ask again later.`, { cause: error });
      }
      const json = (await response.json().catch(() => ({}))) as { code?: string; detail?: string; overlapSeconds?: number | null };
      if (!response.ok) {
        const code: ErrorCode = errorCodes.includes(json.code as ErrorCode) ? (json.code as ErrorCode) : 'PEER_RESPONSE_INVALID';
        await store.settings.put(SETTING, { ...record, detail: `the hub refused it: ${code}` });
        await audit.append({ ...event, outcome: 'refused', code });
        throw new TongbanError(code, `The hub refused the rotation: ${json.detail ?? response.status}`);
      }
      const pending: RotationRecord = { ...record, status: 'pending', overlapSeconds: typeof json.overlapSeconds === 'number' ? json.overlapSeconds : record.overlapSeconds };
      await store.settings.put(SETTING, pending);
      await audit.append({ ...event, outcome: 'sent', detail: { ...event.detail, overlapSeconds: pending.overlapSeconds } });
      this.#o.log(`asked the hub to rotate the signing key to ${next.kid}; waiting for the hub administrator`);
      return this.status();
    });
  }

  /** A new directory view: switch to the pending key if the hub now publishes it as this node's key. */
  async onView(view: DirectoryView): Promise<void> {
    if (this.#o.keys.pending()) await this.#serial(() => this.#promoteIfListed(view));
  }

  /**
   * Looks where a pending rotation stands: promoted when the directory lists the new key; with
   * `askHub`, asks the hub (signed) whether the administrator approved (then refreshes the
   * directory) or rejected it (then the pending key is deleted).
   */
  async check(askHub: boolean): Promise<void> {
    const { keys, directory } = this.#o;
    if (!keys.pending()) return;
    const view = await directory.current().catch(() => undefined);
    if (view && (await this.#serial(() => this.#promoteIfListed(view)))) return;
    if (!askHub) return;
    const record = await this.#record();
    const pending = keys.pending();
    if (!pending || record?.status !== 'pending' || record.kid !== pending.kid) return;
    const answer = await this.#askHub(pending.kid);
    if (answer.status === 'current') {
      // Approved: the signed snapshot, not this answer, is what makes the node switch.
      await this.#o.refreshDirectory();
    } else if (answer.status === 'unknown') {
      await this.#serial(() => this.#rejected(pending.kid, answer.currentKid));
    }
  }

  /** Start-up: the key records match the key files (a crash between promoting and recording is repaired). */
  async reconcile(): Promise<void> {
    const { store, keys, clock } = this.#o;
    const current = keys.current();
    const records = await store.keys.list();
    if (!records.some((k) => k.kid === current.kid)) {
      await store.keys.add({ kid: current.kid, alg: current.algorithm, publicJwk: current.publicJwk, status: 'active', createdAt: clock().toISOString() });
    }
    for (const record of records) {
      if (record.kid === current.kid && record.status !== 'active') await store.keys.setStatus(record.kid, 'active');
      if (record.kid !== current.kid && record.status === 'active') await store.keys.setStatus(record.kid, 'retired');
    }
  }

  async #promoteIfListed(view: DirectoryView): Promise<boolean> {
    const { config, store, audit, keys, clock, log } = this.#o;
    const pending = keys.pending();
    if (!pending || view.node(config.node.division)?.signingKey.kid !== pending.kid) return false;
    const replaced = keys.promote();
    await this.reconcile();
    const record = await this.#record();
    const decidedAt = clock().toISOString();
    await store.settings.put(SETTING, {
      kid: pending.kid,
      previousKid: replaced.kid,
      status: 'approved',
      overlapSeconds: record?.kid === pending.kid ? record.overlapSeconds : null,
      requestedAt: record?.kid === pending.kid ? record.requestedAt : decidedAt,
      decidedAt,
      detail: `directory snapshot ${view.version} lists it as the current key`,
    } satisfies RotationRecord);
    await audit.append({ kind: 'key.rotation.switch', outcome: 'allowed', requester: config.node.division, detail: { from: replaced.kid, to: pending.kid, snapshot: view.version } });
    log(`switched to the signing key ${pending.kid} (approved by the hub); the old key is kept in ${keyFiles(config).previous}`);
    return true;
  }

  async #rejected(kid: string, currentKid: string | null): Promise<void> {
    const { config, store, audit, keys, clock, log } = this.#o;
    if (keys.pending()?.kid !== kid) return;
    keys.discardPending();
    await store.keys.setStatus(kid, 'rejected');
    const record = await this.#record();
    if (record?.kid === kid) {
      await store.settings.put(SETTING, { ...record, status: 'rejected', decidedAt: clock().toISOString(), detail: 'the hub no longer holds the request: the administrator rejected it' } satisfies RotationRecord);
    }
    await audit.append({ kind: 'key.rotation.rejected', outcome: 'refused', requester: config.node.division, detail: { kid, currentKid } });
    log(`the hub administrator rejected the rotation to ${kid}; staying on ${keys.current().kid}`);
  }

  async #askHub(kid: string): Promise<z.infer<typeof RotationStatusAnswer>> {
    const { config, keys, clock } = this.#o;
    const url = new URL('/v1/directory/rotations/status', config.hub!.url).toString();
    const body = JSON.stringify({ kid });
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers: await signedRequestHeaders(keys.current(), url, body, clock()), body, signal: AbortSignal.timeout(5000) });
    } catch (error) {
      throw new TongbanError('HUB_UNREACHABLE', 'The hub did not answer about the pending rotation.', { cause: error });
    }
    const parsed = RotationStatusAnswer.safeParse(await response.json().catch(() => undefined));
    if (!response.ok || !parsed.success) throw new TongbanError('PEER_RESPONSE_INVALID', `The hub answered ${response.status} about the pending rotation.`);
    return parsed.data;
  }
}
