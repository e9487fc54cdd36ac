import type { PublicJwk } from '../crypto/index.ts';
import { TongbanError } from '../errors/index.ts';
import type { Store } from '../store/index.ts';
import { DirectoryView, verifySnapshot } from './snapshot.ts';

export interface DirectoryClientOptions {
  readonly store: Store;
  readonly hubUrl: string;
  /** The hub key pinned at set-up: the node's trust anchor. */
  readonly hubKey: { readonly kid: string; readonly jwk: PublicJwk };
  readonly refreshSeconds: number;
  readonly clock: () => Date;
  readonly log?: (message: string) => void;
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

  constructor(options: DirectoryClientOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const cached = await this.#options.store.settings.get<string>(CACHE_KEY);
    if (cached) {
      try {
        this.#view = await DirectoryView.of(await verifySnapshot(cached, this.#options.hubKey));
      } catch {
        this.#options.log?.('directory: the cached snapshot does not verify; ignoring it');
      }
    }
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#options.refreshSeconds * 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** Fetches and verifies the current snapshot; keeps the old one on any failure. */
  async refresh(): Promise<boolean> {
    try {
      const response = await fetch(new URL('/v1/directory/snapshot', this.#options.hubUrl), { signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`hub answered ${response.status}`);
      const { snapshot: jws } = (await response.json()) as { snapshot: string };
      const snapshot = await verifySnapshot(jws, this.#options.hubKey);
      // Same version: nothing changed, so the agreements need not be verified again.
      if (this.#view && snapshot.version === this.#view.version) {
        this.#lastError = undefined;
        return true;
      }
      if (this.#view && snapshot.version < this.#view.version && !this.#view.expired(this.#options.clock())) return false;
      this.#view = await DirectoryView.of(snapshot);
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

  async current(): Promise<DirectoryView> {
    const view = this.#view;
    if (!view) throw new TongbanError('DIRECTORY_UNAVAILABLE', 'This node has no directory snapshot yet: the hub has not been reachable.');
    if (view.expired(this.#options.clock())) {
      throw new TongbanError('DIRECTORY_EXPIRED', `The cached directory expired at ${view.snapshot.expiresAt} and the hub cannot be reached; refusing to rely on it.`);
    }
    return view;
  }

  /** For health reports: what the node currently holds. */
  status(): { version: number | null; expiresAt: string | null; lastError: string | null } {
    return { version: this.#view?.version ?? null, expiresAt: this.#view?.snapshot.expiresAt ?? null, lastError: this.#lastError ?? null };
  }
}
