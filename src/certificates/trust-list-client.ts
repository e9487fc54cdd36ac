import { decodeProtectedHeader } from 'jose';
import { signingKeyFor } from '../directory/index.ts';
import { isTongbanError, TongbanError } from '../errors/index.ts';
import type { DirectorySource } from '../exchange/index.ts';
import { peerCall } from '../exchange/peer-http.ts';
import type { TrustListSource } from './hub-trust.ts';
import { verifyTrustList, type TrustList } from './trust-list.ts';

/** After a failed fetch, the list held serves this long before the hub is asked again. */
const RETRY_AFTER_MS = 5_000;

/** Where the hub serves its signed trust list. */
export const TRUST_LIST_PATH = '/v1/certificates/trust-list';

export interface TrustListClientOptions {
  readonly hubUrl: string;
  /** The verified directory: the hub's entry in it gives the key the trust list must be signed with. */
  readonly directory: DirectorySource;
  readonly clock: () => Date;
  /** Fetched again once this old even before its `nextUpdate` (a withdrawal reaches the node sooner); default: at `nextUpdate`. */
  readonly maxAgeSeconds?: number;
  /** When the hub cannot be reached, the last good list still serves until this long past its `nextUpdate` (default a day). */
  readonly staleSeconds?: number;
  readonly timeoutMs?: number;
  readonly log?: (message: string) => void;
}

/**
 * A node's copy of the hub's trust list (`runtime.certificates.trustList`): fetched from the hub,
 * verified with the hub's key from the verified directory snapshot (never a key the answer names),
 * kept in memory and fetched again once past its `nextUpdate` (or `maxAgeSeconds`) or on
 * `refresh()`. When a fetch fails or the answer does not verify, the last good list serves on
 * (until `staleSeconds` past its `nextUpdate`); with none, `current()` throws
 * TRUST_LIST_UNAVAILABLE (or TRUST_LIST_INVALID when the hub answered with something that does not
 * verify). An older version than the one held is never taken (a replayed list cannot bring back a
 * withdrawn issuer).
 */
export class TrustListClient implements TrustListSource {
  readonly #options: TrustListClientOptions;
  #held: { list: TrustList; fetchedAt: number } | undefined;
  #fetching: Promise<TrustList> | undefined;
  /** When the last fetch failed: with a list held, the hub is not asked again for a few seconds. */
  #failedAt = Number.NEGATIVE_INFINITY;

  constructor(options: TrustListClientOptions) {
    this.#options = options;
  }

  async current(): Promise<TrustList> {
    const now = this.#options.clock().getTime();
    const held = this.#held;
    if (held && now < this.#dueAt(held)) return held.list;
    const stale = (this.#options.staleSeconds ?? 86_400) * 1000;
    const usable = held !== undefined && now <= Date.parse(held.list.nextUpdate) + stale;
    if (usable && now - this.#failedAt < RETRY_AFTER_MS) return held.list;
    try {
      return await this.refresh();
    } catch (error) {
      this.#failedAt = now;
      if (usable) {
        this.#options.log?.(`trust list: keeping version ${held.list.version}: ${error instanceof Error ? error.message : String(error)}`);
        return held.list;
      }
      throw error;
    }
  }

  /** Fetches and verifies the trust list now (one fetch at a time; concurrent callers share it). */
  refresh(): Promise<TrustList> {
    this.#fetching ??= this.#fetch().finally(() => {
      this.#fetching = undefined;
    });
    return this.#fetching;
  }

  /** The held list's version and when it was fetched, for status pages (undefined before the first fetch). */
  status(): { version: number; fetchedAt: string; nextUpdate: string } | undefined {
    const held = this.#held;
    return held ? { version: held.list.version, fetchedAt: new Date(held.fetchedAt).toISOString(), nextUpdate: held.list.nextUpdate } : undefined;
  }

  #dueAt(held: { list: TrustList; fetchedAt: number }): number {
    const next = Date.parse(held.list.nextUpdate);
    const { maxAgeSeconds } = this.#options;
    return maxAgeSeconds === undefined ? next : Math.min(next, held.fetchedAt + maxAgeSeconds * 1000);
  }

  async #fetch(): Promise<TrustList> {
    const { hubUrl, directory, clock, timeoutMs } = this.#options;
    const url = new URL(TRUST_LIST_PATH, hubUrl).toString();
    let view;
    let answer;
    try {
      view = await directory.current();
      answer = await peerCall(url, { method: 'GET', headers: { accept: 'application/jwt' }, timeoutMs: timeoutMs ?? 5000 });
    } catch (error) {
      throw new TongbanError('TRUST_LIST_UNAVAILABLE', `The hub's trust list could not be fetched: ${isTongbanError(error) ? error.message : error instanceof Error ? error.message : String(error)}`);
    }
    if (answer.status !== 200) throw new TongbanError('TRUST_LIST_UNAVAILABLE', `The hub answered ${answer.status} for its trust list.`);
    const jws = new TextDecoder().decode(answer.body).trim();
    const now = clock();
    const hub = view.hub();
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(jws).kid;
    } catch {
      throw new TongbanError('TRUST_LIST_INVALID', 'The hub answered with something that is not a signed trust list.');
    }
    // The hub's directory key (or its previous one during an overlap), from the snapshot the node verified.
    const jwk = hub && typeof kid === 'string' ? signingKeyFor(hub, kid, now) : null;
    if (!jwk) throw new TongbanError('TRUST_LIST_INVALID', `The trust list is not signed with a key the directory lists for the hub (kid ${String(kid)}).`);
    const list = await verifyTrustList(jws, jwk, now);
    if (list.issuer !== view.snapshot.issuer) throw new TongbanError('TRUST_LIST_INVALID', `The trust list is issued by ${list.issuer}, not by the hub ${view.snapshot.issuer}.`);
    const held = this.#held;
    if (held && list.version < held.list.version) {
      throw new TongbanError('TRUST_LIST_INVALID', `The hub served trust list version ${list.version}, older than version ${held.list.version} held here.`);
    }
    this.#held = { list, fetchedAt: now.getTime() };
    return list;
  }
}
