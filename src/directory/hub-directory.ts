import { SignedAgreement, verifyAgreementSignatures } from '../agreements/index.ts';
import type { SigningKey } from '../crypto/index.ts';
import { TongbanError, validationError } from '../errors/index.ts';
import type { DirectoryNodeRecord, Store } from '../store/index.ts';
import { DirectoryEntry, DirectoryView, signSnapshot, type DirectorySnapshot } from './snapshot.ts';

export interface HubDirectoryOptions {
  readonly store: Store;
  readonly hubKey: SigningKey;
  /** The hub's own entry, published first in every snapshot. */
  readonly self: DirectoryEntry;
  readonly snapshotTtlSeconds: number;
  readonly clock: () => Date;
}

/**
 * The hub's directory: enrolment and approval of nodes, the registry of signed agreements,
 * and the signed snapshot nodes cache.
 */
export class HubDirectory {
  readonly #options: HubDirectoryOptions;
  #cached: { jws: string; view: DirectoryView; issuedAt: number } | undefined;
  /** Bumped by every change: a snapshot built from reads older than a change is not cached. */
  #generation = 0;
  #building: Promise<unknown> = Promise.resolve();

  constructor(options: HubDirectoryOptions) {
    this.#options = options;
  }

  /** A node asks to join (or updates its endpoint and services). New nodes wait for approval. */
  async enrol(entry: DirectoryEntry): Promise<DirectoryNodeRecord> {
    const { store, clock } = this.#options;
    const existing = await store.directory.get(entry.division);
    if (existing && existing.signingKey.kid !== entry.signingKey.kid) {
      throw new TongbanError('NODE_ALREADY_ENROLLED', `${entry.division} is enrolled under another key; key rotation needs the hub administrator.`);
    }
    const record: DirectoryNodeRecord = {
      ...entry,
      status: existing?.status ?? 'pending',
      enrolledAt: existing?.enrolledAt ?? clock().toISOString(),
      decidedAt: existing?.decidedAt ?? null,
      decidedBy: existing?.decidedBy ?? null,
    };
    await store.directory.upsert(record);
    this.#invalidate();
    return record;
  }

  async decide(division: string, status: 'approved' | 'suspended', by: string): Promise<DirectoryNodeRecord> {
    const { store, clock } = this.#options;
    const existing = await store.directory.get(division);
    if (!existing) throw new TongbanError('NODE_UNKNOWN', `${division} has not asked to enrol.`);
    const record = { ...existing, status, decidedAt: clock().toISOString(), decidedBy: by };
    await store.directory.upsert(record);
    this.#invalidate();
    return record;
  }

  list(): Promise<DirectoryNodeRecord[]> {
    return this.#options.store.directory.list();
  }

  /**
   * Registers an agreement once every party has signed it with the key the directory lists
   * for that party, and every party is an approved node.
   */
  async registerAgreement(input: unknown): Promise<{ id: string; version: number; registered: boolean }> {
    const parsed = SignedAgreement.safeParse(input);
    if (!parsed.success) throw validationError(parsed.error);
    const signed = parsed.data;
    const nodes = new Map((await this.#options.store.directory.list()).map((n) => [n.division, n]));
    const notApproved = signed.agreement.parties.filter((p) => nodes.get(p)?.status !== 'approved');
    if (notApproved.length > 0) throw new TongbanError('NODE_NOT_APPROVED', `Not approved in the directory: ${notApproved.join(', ')}.`);
    const check = await verifyAgreementSignatures(signed, (division) => {
      const node = nodes.get(division);
      return node ? [node.signingKey] : [];
    });
    if (!check.ok) throw new TongbanError('AGREEMENT_INVALID', `The agreement cannot be registered: ${check.reason}.`);
    const current = await this.#options.store.agreements.get(signed.agreement.id);
    if (current && current.agreement.version > signed.agreement.version) {
      throw new TongbanError('AGREEMENT_INVALID', `Version ${current.agreement.version} of ${signed.agreement.id} is already registered.`);
    }
    const registered = await this.#options.store.agreements.put(signed);
    if (registered) this.#invalidate();
    return { id: signed.agreement.id, version: signed.agreement.version, registered };
  }

  /** The signed snapshot; re-issued when something changed or half its lifetime has passed. */
  async snapshot(): Promise<{ jws: string; view: DirectoryView }> {
    const fresh = this.#fresh();
    if (fresh) return fresh;
    // One build at a time: two concurrent builds would issue the same version number with
    // different content, and nodes skip a version they already hold.
    const build = this.#building.then(() => this.#fresh() ?? this.#build());
    this.#building = build.catch(() => undefined);
    return build;
  }

  #fresh(): { jws: string; view: DirectoryView; issuedAt: number } | undefined {
    const { snapshotTtlSeconds, clock } = this.#options;
    if (this.#cached && clock().getTime() - this.#cached.issuedAt < (snapshotTtlSeconds * 1000) / 2) return this.#cached;
    return undefined;
  }

  async #build(): Promise<{ jws: string; view: DirectoryView }> {
    const { store, hubKey, self, snapshotTtlSeconds, clock } = this.#options;
    const now = clock();
    const generation = this.#generation;
    const version = ((await store.settings.get<number>('directory.version')) ?? 0) + 1;
    await store.settings.put('directory.version', version);
    const approved = (await store.directory.list()).filter((n) => n.status === 'approved' && n.division !== self.division);
    const snapshot: DirectorySnapshot = {
      issuer: self.division,
      version,
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + snapshotTtlSeconds * 1000).toISOString(),
      nodes: [self, ...approved.map((n) => DirectoryEntry.parse(n))],
      agreements: await store.agreements.latest(),
    };
    const jws = await signSnapshot(hubKey, snapshot);
    const built = { jws, view: await DirectoryView.of(snapshot), issuedAt: now.getTime() };
    // A change (approval, agreement) landed while this one was being built: serve it once,
    // but do not keep it, or the change would stay invisible for half a lifetime.
    if (generation === this.#generation) this.#cached = built;
    return built;
  }

  /** The hub relies on its own live directory; it never expires for the hub itself. */
  async current(): Promise<DirectoryView> {
    return (await this.snapshot()).view;
  }

  #invalidate(): void {
    this.#generation++;
    this.#cached = undefined;
  }
}
