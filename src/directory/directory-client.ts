import type { PublicJwk } from '../crypto/index.ts';
import { TongbanError } from '../errors/index.ts';
import { peerCall } from '../exchange/peer-http.ts';
import type { Store } from '../store/index.ts';
import { DirectoryView, verifySnapshot, type DirectorySnapshot, type RefusedAgreement } from './snapshot.ts';

export interface DirectoryClientOptions {
  readonly store: Store;
  readonly hubUrl: string;
  /** The hub key pinned at set-up: the node's trust anchor. */
  readonly hubKey: { readonly kid: string; readonly jwk: PublicJwk };
  readonly refreshSeconds: number;
  readonly clock: () => Date;
  readonly log?: (message: string) => void;
  /** Told of every agreement version a snapshot offered that this node refused (to audit it). */
  readonly onRefused?: (refused: RefusedAgreement) => Promise<void> | void;
  /** Told of every view this client adopts (the cached one at start too), e.g. to act on this node's own entry. */
  readonly onView?: (view: DirectoryView) => Promise<void> | void;
}

const CACHE_KEY = 'directory.snapshot';

/**
 * A node's copy of the hub's directory. It refreshes on a timer, keeps the last verified
 * snapshot in its database (so bridges work while the hub is down, even across restarts),
 * and refuses to rely on a snapshot past its expiry: fail closed.
 */
export class DirectoryClient {
  readonly #options: DirectoryClientOptions;
  #view: DirectoryView | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastError: string | undefined;
  /** Refusals already reported, so a refused version is logged once, not at every refresh. */
  readonly #reported = new Set<string>();

  constructor(options: DirectoryClientOptions) {
    this.#options = options;
  }

  /**
   * With several replicas of the node, the periodic refresh asks the hub only at the replica
   * holding the node's periodic-work lease (`holdsLease`); the others take the snapshot it
   * stored in the database. Set by the node's background jobs; without it every refresh asks the hub.
   */
  holdsLease: (() => Promise<boolean>) | undefined;

  async start(): Promise<void> {
    await this.reloadStored();
    await this.refresh();
    this.#timer = setInterval(() => void this.periodicRefresh(), this.#options.refreshSeconds * 1000);
    this.#timer.unref();
  }

  /** One tick of the refresh timer: from the hub at the lease holder (or without replicas), else from the database. */
  async periodicRefresh(): Promise<void> {
    const fromHub = this.holdsLease === undefined || (await this.holdsLease().catch(() => true));
    await (fromHub ? this.refresh() : this.reloadStored());
  }

  /** Adopts the snapshot stored in the database (by this node's refresh at any replica) when it is newer than the view. */
  async reloadStored(): Promise<void> {
    const stored = await this.#options.store.settings.get<string>(CACHE_KEY).catch(() => undefined);
    if (!stored) return;
    try {
      const snapshot = await verifySnapshot(stored, this.#options.hubKey);
      if (this.#view && snapshot.version <= this.#view.version) return;
      this.#view = await this.#adopt(snapshot, false);
    } catch {
      this.#options.log?.('directory: the stored snapshot does not verify; ignoring it');
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** Fetches and verifies the current snapshot; keeps the old one on any failure. */
  async refresh(): Promise<boolean> {
    try {
      const response = await peerCall(new URL('/v1/directory/snapshot', this.#options.hubUrl).toString(), { method: 'GET', timeoutMs: 5000 });
      if (response.status !== 200) throw new Error(`hub answered ${response.status}`);
      const { snapshot: jws } = JSON.parse(new TextDecoder().decode(response.body)) as { snapshot: string };
      const snapshot = await verifySnapshot(jws, this.#options.hubKey);
      // Same version: nothing changed, so the agreements need not be verified again.
      if (this.#view && snapshot.version === this.#view.version) {
        this.#lastError = undefined;
        return true;
      }
      if (this.#view && snapshot.version < this.#view.version && !this.#view.expired(this.#options.clock())) return false;
      this.#view = await this.#adopt(snapshot, true);
      await this.#options.store.settings.put(CACHE_KEY, jws);
      this.#lastError = undefined;
      return true;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.#lastError) this.#options.log?.(`directory: cannot refresh from the hub (${message}); using the cached snapshot`);
      this.#lastError = message;
      return false;
    }
  }

  /**
   * Builds the view against the agreement versions this node accepted before (its own
   * agreements table), and remembers the versions it adopts now. A snapshot cannot make this
   * node drop or swap an agreement that lacks the signatures of the parties it had.
   */
  async #adopt(snapshot: DirectorySnapshot, report: boolean): Promise<DirectoryView> {
    const { store } = this.#options;
    const accepted = new Map((await store.agreements.latest()).map((s) => [s.agreement.id, s]));
    const view = await DirectoryView.of(snapshot, accepted);
    for (const signed of view.adopted) await store.agreements.put(signed);
    if (report) {
      for (const refused of view.refused) {
        const key = `${refused.id}@${refused.version}:${refused.code}`;
        if (this.#reported.has(key)) continue;
        this.#reported.add(key);
        this.#options.log?.(`directory: refused version ${refused.version} of ${refused.id} (${refused.reason})`);
        await this.#options.onRefused?.(refused);
      }
    }
    // Failures here are the listener's own (logged there); the view is adopted regardless.
    await Promise.resolve(this.#options.onView?.(view)).catch((error: unknown) => this.#options.log?.(`directory: ${error instanceof Error ? error.message : String(error)}`));
    return view;
  }

  async current(): Promise<DirectoryView> {
    const view = this.#view;
    if (!view) throw new TongbanError('DIRECTORY_UNAVAILABLE', 'This node has no directory snapshot yet: the hub has not been reachable.');
    if (view.expired(this.#options.clock())) {
      throw new TongbanError('DIRECTORY_EXPIRED', `The cached directory expired at ${view.snapshot.expiresAt} and the hub cannot be reached; refusing to rely on it.`);
    }
    return view;
  }

  /** For health reports: what the node currently holds. */
  status(): { version: number | null; issuedAt: string | null; expiresAt: string | null; lastError: string | null } {
    return { version: this.#view?.version ?? null, issuedAt: this.#view?.snapshot.issuedAt ?? null, expiresAt: this.#view?.snapshot.expiresAt ?? null, lastError: this.#lastError ?? null };
  }
}
