import { createHash } from 'node:crypto';
import { z } from 'zod';
import { checkAgreementSuccession, SignedAgreement } from '../agreements/index.ts';
import { canonicalJson, signJws, verifyJws, type PublicJwk, type SigningKey } from '../crypto/index.ts';
import { TongbanError, validationError } from '../errors/index.ts';
import { divisions } from '../standards/index.ts';
import type { DirectoryChangeRecord, DirectoryNodeRecord, Store, StoreOps } from '../store/index.ts';
import { enrolmentStep } from './enrolment.ts';
import { agreementKeysOf, DirectoryEntry, DirectorySnapshot, DirectoryView, keyBindingProblem, signingKeyFor, signSnapshot } from './snapshot.ts';

export interface HubDirectoryOptions {
  readonly store: Store;
  readonly hubKey: SigningKey;
  /** The hub's own entry, published first in every snapshot. */
  readonly self: DirectoryEntry;
  readonly snapshotTtlSeconds: number;
  readonly clock: () => Date;
  /**
   * Called inside the transaction that approves a key rotation (the certificate trust list retires
   * the node's old key there): a failure rolls the approval back.
   */
  readonly onRotationApproved?: (tx: StoreOps, rotation: { division: string; previous: { kid: string; jwk: PublicJwk }; next: { kid: string; jwk: PublicJwk }; at: Date }) => Promise<void>;
}

/** `typ` of the JWS a node signs with its NEW key to prove it holds it when asking for a rotation. */
export const ROTATION_PROOF_TYP = 'tongban-key-rotation+jws';
/** Overlap periods a rotation may ask for: the old key keeps verifying for in-flight messages. */
export const DEFAULT_OVERLAP_SECONDS = 86_400;
export const MAX_OVERLAP_SECONDS = 30 * 86_400;

/**
 * A rotation request: the new entry (new signing key, possibly a new encryption key and
 * endpoint) and a proof signed with the new key. The HTTP request itself is signed with the
 * node's CURRENT key.
 */
export const RotationRequest = z.object({
  entry: DirectoryEntry,
  /** Compact JWS by the new key over {division, previousKid, kid}. */
  proof: z.string().min(20).max(2000),
  overlapSeconds: z.number().int().min(0).max(MAX_OVERLAP_SECONDS).optional(),
});
export type RotationRequest = z.infer<typeof RotationRequest>;

/**
 * The node side of a rotation: the body a node sends (signed over HTTP with its CURRENT key)
 * to move `entry` to `newKey`, with the proof of possession signed by the new key.
 */
export async function buildRotationRequest(entry: DirectoryEntry, newKey: SigningKey, overlapSeconds?: number): Promise<RotationRequest> {
  const next: DirectoryEntry = { ...entry, signingKey: { kid: newKey.kid, jwk: newKey.publicJwk } };
  delete next.previousKeys;
  const claim = canonicalJson({ division: entry.division, previousKid: entry.signingKey.kid, kid: newKey.kid });
  const proof = await signJws(newKey, new TextEncoder().encode(claim), { typ: ROTATION_PROOF_TYP });
  return { entry: next, proof, ...(overlapSeconds === undefined ? {} : { overlapSeconds }) };
}

/**
 * Where a node's rotation to a key stands at the hub: waiting for the administrator, approved
 * (the key is current), replaced since (previous), or unknown — rejected by the administrator,
 * replaced by another request, or never asked for.
 */
export const rotationStatuses = ['pending', 'current', 'previous', 'unknown'] as const;
export type RotationStatus = (typeof rotationStatuses)[number];

/** What an enrolment did: a new pending node, an in-place update, nothing, or a change request. */
export type EnrolmentOutcome = 'enrolled' | 'updated' | 'unchanged' | 'change-requested';

type PublishedEntry = Omit<DirectoryNodeRecord, 'status' | 'enrolledAt' | 'decidedAt' | 'decidedBy' | 'previousKeys'>;

/**
 * The hub's directory: enrolment and approval of nodes, change requests and key rotations,
 * the registry of signed agreements, and the signed snapshot nodes cache.
 *
 * A division's approved entry is never replaced by an enrolment: a change of endpoint or
 * encryption key becomes a change request, a new signing key a rotation request signed with
 * the current key; both wait for the administrator, and the approved entry serves meanwhile.
 */
export class HubDirectory {
  readonly #options: HubDirectoryOptions;
  #cached: { jws: string; view: DirectoryView; issuedAt: number } | undefined;
  /** Bumped by every change: a snapshot built from reads older than a change is not cached. */
  #generation = 0;
  #building: Promise<unknown> = Promise.resolve();
  /** When the cached snapshot was last compared with the newest one in the database (another hub replica may have published since). */
  #checkedAt = 0;

  constructor(options: HubDirectoryOptions) {
    this.#options = options;
  }

  /**
   * A node asks to join, or restates its entry. The caller has checked that the request is
   * signed with `entry.signingKey` (proof of possession).
   */
  async enrol(entry: DirectoryEntry): Promise<{ record: DirectoryNodeRecord; outcome: EnrolmentOutcome }> {
    const { store, clock } = this.#options;
    this.#checkEntry(entry);
    if (entry.previousKeys !== undefined) throw new TongbanError('VALIDATION_FAILED', 'Previous keys are set by approved rotations, not by an enrolment.');
    const published = publishedPart(entry);
    const existing = await store.directory.get(entry.division);
    if (!existing) {
      const record: DirectoryNodeRecord = { ...published, status: 'pending', enrolledAt: clock().toISOString(), decidedAt: null, decidedBy: null };
      await store.directory.upsert(record);
      // A pending node is not in the snapshot: nothing to re-issue.
      return { record, outcome: 'enrolled' };
    }
    if (existing.status === 'revoked') {
      throw new TongbanError('NODE_NOT_APPROVED', `${entry.division} was revoked by the hub administrator; it can enrol again only once the administrator removes the entry.`);
    }
    if (existing.signingKey.kid !== entry.signingKey.kid) {
      throw new TongbanError(
        'NODE_ALREADY_ENROLLED',
        existing.status === 'pending'
          ? `${entry.division} has a pending enrolment under another key; the hub administrator can reject it.`
          : `${entry.division} is enrolled under another key; a new key is a rotation request signed with the current key.`,
      );
    }
    if (existing.status === 'pending') {
      const record: DirectoryNodeRecord = { ...existing, ...published };
      if (samePublished(existing, published)) return { record: existing, outcome: 'unchanged' };
      await store.directory.upsert(record);
      return { record, outcome: 'updated' };
    }
    // Approved or suspended: where peers send data and whom they encrypt for needs the administrator.
    if (existing.endpoint !== entry.endpoint || existing.encryptionKey.kid !== entry.encryptionKey.kid) {
      const pending = await store.directory.getChange(entry.division);
      if (!pending || canonicalJson(pending.entry) !== canonicalJson(published)) {
        await store.directory.putChange({ division: entry.division, kind: 'update', entry: published, overlapSeconds: null, requestedAt: clock().toISOString() });
      }
      return { record: existing, outcome: 'change-requested' };
    }
    if (samePublished(existing, published)) return { record: existing, outcome: 'unchanged' };
    // Name and services, restated by the holder of the approved key: published as they are.
    const record: DirectoryNodeRecord = { ...existing, ...published };
    await store.directory.upsert(record);
    if (existing.status === 'approved') this.#invalidate();
    return { record, outcome: 'updated' };
  }

  /**
   * A key rotation request. The caller has checked that the HTTP request is signed with the
   * division's current approved key (`signedWith`); this checks the proof by the new key.
   */
  async requestRotation(request: RotationRequest, signedWith: string): Promise<DirectoryChangeRecord> {
    const { store, clock } = this.#options;
    const { entry } = request;
    this.#checkEntry(entry);
    const existing = await store.directory.get(entry.division);
    if (!existing || existing.status === 'pending' || existing.status === 'revoked') throw new TongbanError('NODE_NOT_APPROVED', `${entry.division} has no approved entry whose key could be rotated.`);
    if (signedWith !== existing.signingKey.kid) {
      throw new TongbanError('SIGNATURE_INVALID', `A rotation of ${entry.division} is signed with its current key ${existing.signingKey.kid}.`);
    }
    if (entry.signingKey.kid === existing.signingKey.kid) throw new TongbanError('VALIDATION_FAILED', 'A rotation names a new signing key.');
    if ((existing.previousKeys ?? []).some((k) => k.kid === entry.signingKey.kid)) throw new TongbanError('VALIDATION_FAILED', 'A rotation cannot return to a retired key.');
    const proof = await verifyJws(request.proof, (kid) => (kid === entry.signingKey.kid ? entry.signingKey.jwk : null));
    const expected = canonicalJson({ division: entry.division, previousKid: existing.signingKey.kid, kid: entry.signingKey.kid });
    if (!proof.ok || proof.header.typ !== ROTATION_PROOF_TYP || new TextDecoder().decode(proof.payload) !== expected) {
      throw new TongbanError('SIGNATURE_INVALID', 'The rotation proof is not signed with the new key over {division, previousKid, kid}.');
    }
    const change: DirectoryChangeRecord = {
      division: entry.division,
      kind: 'rotation',
      entry: publishedPart(entry),
      overlapSeconds: request.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS,
      requestedAt: clock().toISOString(),
    };
    await store.directory.putChange(change);
    return change;
  }

  /** Where the rotation of `division` to `kid` stands (asked by the node itself, signed). */
  async rotationStatus(division: string, kid: string): Promise<{ status: RotationStatus; currentKid: string | null }> {
    const { store } = this.#options;
    const existing = await store.directory.get(division);
    if (!existing) return { status: 'unknown', currentKid: null };
    const currentKid = existing.signingKey.kid;
    if (currentKid === kid) return { status: 'current', currentKid };
    if ((existing.previousKeys ?? []).some((k) => k.kid === kid)) return { status: 'previous', currentKid };
    const change = await store.directory.getChange(division);
    if (change?.kind === 'rotation' && change.entry.signingKey.kid === kid) return { status: 'pending', currentKid };
    return { status: 'unknown', currentKid };
  }

  listChanges(): Promise<DirectoryChangeRecord[]> {
    return this.#options.store.directory.listChanges();
  }

  /**
   * The administrator approves a change request: the new entry is published; after a rotation
   * the replaced key stays listed as valid until the overlap ends.
   */
  async approveChange(division: string, by: string): Promise<{ record: DirectoryNodeRecord; change: DirectoryChangeRecord }> {
    const { store, clock } = this.#options;
    const result = await store.transaction(async (tx) => {
      const change = await tx.directory.getChange(division);
      if (!change) throw new TongbanError('CHANGE_REQUEST_NOT_FOUND', `${division} has no pending change request.`);
      const existing = await tx.directory.get(division);
      if (!existing) throw new TongbanError('NODE_UNKNOWN', `${division} is not in the directory.`);
      const now = clock();
      let previousKeys = existing.previousKeys ?? [];
      if (change.kind === 'rotation') {
        const validUntil = new Date(now.getTime() + (change.overlapSeconds ?? 0) * 1000).toISOString();
        previousKeys = [{ kid: existing.signingKey.kid, jwk: existing.signingKey.jwk, validUntil }, ...previousKeys].slice(0, 10);
      } else if (change.entry.signingKey.kid !== existing.signingKey.kid) {
        throw new TongbanError('CHANGE_REQUEST_NOT_FOUND', `The change request of ${division} names a key that is no longer current; the node must ask again.`);
      }
      const record: DirectoryNodeRecord = {
        ...change.entry,
        ...(previousKeys.length > 0 ? { previousKeys } : {}),
        status: existing.status,
        enrolledAt: existing.enrolledAt,
        decidedAt: now.toISOString(),
        decidedBy: by,
      };
      await tx.directory.upsert(record);
      await tx.directory.removeChange(division);
      if (change.kind === 'rotation') await this.#options.onRotationApproved?.(tx, { division, previous: existing.signingKey, next: change.entry.signingKey, at: now });
      return { record, change };
    });
    this.#invalidate();
    return result;
  }

  async rejectChange(division: string): Promise<DirectoryChangeRecord> {
    const { store } = this.#options;
    const change = await store.directory.getChange(division);
    if (!change || !(await store.directory.removeChange(division))) throw new TongbanError('CHANGE_REQUEST_NOT_FOUND', `${division} has no pending change request.`);
    return change;
  }

  /** The administrator approves, suspends or revokes a node: a step of the enrolment table. */
  async decide(division: string, action: 'approve' | 'suspend' | 'revoke', by: string): Promise<DirectoryNodeRecord> {
    const { store, clock } = this.#options;
    const existing = await store.directory.get(division);
    if (!existing) throw new TongbanError('NODE_UNKNOWN', `${division} has not asked to enrol.`);
    const status = enrolmentStep(division, existing.status, action)!;
    const record = { ...existing, status, decidedAt: clock().toISOString(), decidedBy: by };
    await store.directory.upsert(record);
    this.#invalidate();
    return record;
  }

  /** The administrator refuses a pending enrolment (a squatter, a mistake): it is removed. */
  async reject(division: string): Promise<DirectoryNodeRecord> {
    const { store } = this.#options;
    const existing = await store.directory.get(division);
    if (!existing) throw new TongbanError('NODE_UNKNOWN', `${division} has not asked to enrol.`);
    enrolmentStep(division, existing.status, 'reject');
    await store.directory.remove(division);
    return existing;
  }

  /** The administrator removes an entry whatever its status; the division may then enrol afresh. */
  async remove(division: string): Promise<DirectoryNodeRecord> {
    const { store } = this.#options;
    const existing = await store.directory.get(division);
    if (existing) enrolmentStep(division, existing.status, 'remove');
    if (!existing || !(await store.directory.remove(division))) throw new TongbanError('NODE_UNKNOWN', `${division} is not in the directory.`);
    if (existing.status === 'approved') this.#invalidate();
    return existing;
  }

  list(): Promise<DirectoryNodeRecord[]> {
    return this.#options.store.directory.list();
  }

  /**
   * Registers an agreement once every party has signed it with the key the directory lists
   * for that party, and every party is an approved node. A new version of an agreement id
   * must also be signed by every party of the version in force; the same version must carry
   * the same terms.
   */
  async registerAgreement(input: unknown): Promise<{ id: string; version: number; registered: boolean }> {
    const parsed = SignedAgreement.safeParse(input);
    if (!parsed.success) throw validationError(parsed.error);
    const signed = parsed.data;
    const { store, clock } = this.#options;
    const nodes = new Map((await store.directory.list()).map((n) => [n.division, n]));
    const notApproved = signed.agreement.parties.filter((p) => nodes.get(p)?.status !== 'approved');
    if (notApproved.length > 0) throw new TongbanError('NODE_NOT_APPROVED', `Not approved in the directory: ${notApproved.join(', ')}.`);
    const now = clock();
    // At registration a signature must be by a key valid now: the current one or one in its overlap.
    const keysOf = (division: string) => agreementKeysOf(nodes.get(division)).filter((k) => signingKeyFor(nodes.get(division)!, k.kid, now) !== null);
    const current = await store.agreements.get(signed.agreement.id);
    const check = await checkAgreementSuccession(current, signed, keysOf);
    if (!check.ok) throw new TongbanError(check.code, `The agreement cannot be registered: ${check.reason}.`);
    if (check.unchanged) return { id: signed.agreement.id, version: signed.agreement.version, registered: false };
    // A registered version replaces the one in force at once, everywhere: one not valid yet would
    // leave the parties with no agreement in force until then. Register it once it is valid.
    if (current && Date.parse(signed.agreement.validFrom) > now.getTime()) {
      throw new TongbanError('AGREEMENT_VERSION_CONFLICT', `Version ${current.agreement.version} of ${signed.agreement.id} is in force; version ${signed.agreement.version} is valid from ${signed.agreement.validFrom} only: register it then.`);
    }
    const registered = await store.agreements.put(signed);
    if (registered) this.#invalidate();
    return { id: signed.agreement.id, version: signed.agreement.version, registered };
  }

  /** The signed snapshot; re-issued when something changed or half its lifetime has passed. */
  async snapshot(): Promise<{ jws: string; view: DirectoryView }> {
    const fresh = this.#fresh();
    if (fresh && !(await this.#superseded(fresh))) return fresh;
    // One build at a time in this process; across hub replicas the database serialises them.
    const build = this.#building.then(() => this.#fresh() ?? this.#build());
    this.#building = build.catch(() => undefined);
    return build;
  }

  #fresh(): { jws: string; view: DirectoryView; issuedAt: number } | undefined {
    const { snapshotTtlSeconds, clock } = this.#options;
    if (this.#cached && clock().getTime() - this.#cached.issuedAt < (snapshotTtlSeconds * 1000) / 2) return this.#cached;
    return undefined;
  }

  /**
   * Whether another hub replica published a newer version than the cached one (looked at once a
   * second at most: the hub reads its directory on every exchange). A change made at another
   * replica reaches this one's snapshot when that replica publishes it (its next snapshot request).
   */
  async #superseded(cached: { view: DirectoryView }): Promise<boolean> {
    const now = this.#options.clock().getTime();
    if (now - this.#checkedAt < 1000) return false;
    this.#checkedAt = now;
    const latest = await this.#options.store.directorySnapshots.latestVersion();
    if (latest === undefined || latest <= cached.view.version) return false;
    this.#invalidate();
    return true;
  }

  /**
   * Publishes a snapshot: in one transaction under the hub's snapshot lock, reads what it
   * publishes, and either reuses the newest stored snapshot (same content, still within half its
   * lifetime: another replica just published it) or signs the next version and stores it. So a
   * version is allocated once, in the database, bound to its content: two hub replicas never
   * publish different snapshots under one version, nor an older content under a newer version.
   */
  async #build(): Promise<{ jws: string; view: DirectoryView }> {
    const { store, hubKey, self, snapshotTtlSeconds, clock } = this.#options;
    const generation = this.#generation;
    const published = await store.transaction(async (tx) => {
      await tx.directorySnapshots.lock();
      const now = clock();
      const approved = (await tx.directory.list()).filter((n) => n.status === 'approved' && n.division !== self.division);
      const content = {
        nodes: [self, ...approved.map((n) => DirectoryEntry.parse(n))],
        agreements: await tx.agreements.latest(),
        // Read in the same transaction as the rest (not from one replica's memory): a suspension
        // recorded at another hub replica is published by whichever replica builds the next version.
        agreementStates: (await tx.agreementStates.list()).map((r) => r.jws),
      };
      const contentHash = createHash('sha256').update(canonicalJson(content)).digest('hex');
      const latest = await tx.directorySnapshots.latest();
      if (latest && latest.contentHash === contentHash && now.getTime() - latest.issuedAt < (snapshotTtlSeconds * 1000) / 2) {
        return { jws: latest.jws, snapshot: snapshotOf(latest.jws), issuedAt: latest.issuedAt };
      }
      // Versions issued before snapshots were stored (migration 025) continue from the setting.
      const version = Math.max(latest?.version ?? 0, (await tx.settings.get<number>('directory.version')) ?? 0) + 1;
      const snapshot: DirectorySnapshot = {
        issuer: self.division,
        version,
        issuedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + snapshotTtlSeconds * 1000).toISOString(),
        ...content,
      };
      const jws = await signSnapshot(hubKey, snapshot);
      await tx.directorySnapshots.add({ version, contentHash, jws, issuedAt: now.getTime() });
      await tx.directorySnapshots.prune(version - 20);
      await tx.settings.put('directory.version', version);
      return { jws, snapshot, issuedAt: now.getTime() };
    });
    const built = { jws: published.jws, view: await DirectoryView.of(published.snapshot), issuedAt: published.issuedAt };
    this.#checkedAt = clock().getTime();
    // A change (approval, agreement) landed while this one was being built: serve it once,
    // but do not keep it, or the change would stay invisible for half a lifetime.
    if (generation === this.#generation) this.#cached = built;
    return built;
  }

  /** The hub relies on its own live directory; it never expires for the hub itself. */
  async current(): Promise<DirectoryView> {
    return (await this.snapshot()).view;
  }

  /** Bound key ids, a real (current) GB/T 2260 division other than the hub's, a node's role. */
  #checkEntry(entry: DirectoryEntry): void {
    const binding = keyBindingProblem(entry);
    if (binding) throw new TongbanError('KEY_ID_MISMATCH', `The key ids are not bound to the keys: ${binding}.`);
    const known = divisions.get(entry.division);
    if (!known || known.retired) {
      throw new TongbanError('VALIDATION_FAILED', `${entry.division} is not a current GB/T 2260 division code.`, {
        errors: [{ path: 'division', message: known ? `${known.name} was abolished on ${known.retired}` : 'not in the GB/T 2260 table' }],
      });
    }
    if (entry.division === this.#options.self.division || entry.role !== 'node') {
      throw new TongbanError('VALIDATION_FAILED', 'Only nodes enrol; the hub publishes its own entry.', { errors: [{ path: 'role', message: 'must be node' }] });
    }
  }

  /** Something the snapshot publishes changed outside the directory (an agreement's state): re-issue it. */
  changed(): void {
    this.#invalidate();
  }

  #invalidate(): void {
    this.#generation++;
    this.#cached = undefined;
  }
}

function publishedPart(entry: DirectoryEntry | DirectoryNodeRecord): PublishedEntry {
  const { division, name, role, endpoint, signingKey, encryptionKey, services } = entry;
  return { division, name, role, endpoint, signingKey, encryptionKey, services };
}

function samePublished(existing: DirectoryNodeRecord, entry: PublishedEntry): boolean {
  return canonicalJson(publishedPart(existing)) === canonicalJson(entry);
}

/** The snapshot a stored JWS carries (signed by this hub: its payload is read, not verified again). */
function snapshotOf(jws: string): DirectorySnapshot {
  const payload = jws.split('.')[1] ?? '';
  return DirectorySnapshot.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
}
