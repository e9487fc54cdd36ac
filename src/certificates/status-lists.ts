import type { PublicJwk } from '../crypto/index.ts';
import { TongbanError, isTongbanError } from '../errors/index.ts';
import type { DirectorySource } from '../exchange/index.ts';
import { peerCall, type PeerAnswer } from '../exchange/peer-http.ts';
import type { Store } from '../store/index.ts';
import { verifyStatusList, type TrustList, type TrustListSource } from './index.ts';

/** Where an issuer serves its status lists, under its directory endpoint. */
export const STATUS_LIST_PATH = '/v1/certificates/status-lists/';


export interface StatusListCacheContext {
  readonly store: Store;
  readonly directory: DirectorySource;
  readonly trustList: TrustListSource;
  readonly clock: () => Date;
  /** The longest a fetched list is relied on (config `certificates.statusMaxAgeSeconds`). */
  readonly maxAgeSeconds: number;
  readonly timeoutMs?: number;
  /** The HTTP GET (peerCall unless a test gives another). */
  readonly get?: (url: string, timeoutMs: number) => Promise<PeerAnswer>;
}

type VerifiedList = Awaited<ReturnType<typeof verifyStatusList>>;

const unavailable = (message: string, cause?: unknown) => new TongbanError('CERTIFICATE_STATUS_UNAVAILABLE', message, cause === undefined ? undefined : { cause });

/**
 * The verifier's view of issuers' status lists (IETF Token Status List). A list is used while it
 * is younger than min(its own ttl, `maxAgeSeconds`) and unexpired; otherwise it is fetched again,
 * and only from the issuer's endpoint in the directory: a certificate's `status.uri` anywhere else
 * is refused, never fetched (the verifier does not call URLs a presenter wrote). A list is
 * trusted only when signed by a current key the trust list gives its issuer. When it cannot be
 * fetched and nothing fresh enough is held: CERTIFICATE_STATUS_UNAVAILABLE — never "valid".
 */
export class StatusListCache {
  readonly #ctx: StatusListCacheContext;
  /** The last list verified per URI, so a cached list is not verified again at every use. */
  readonly #verified = new Map<string, { jwt: string; list: VerifiedList }>();
  /** Fetches under way: concurrent verifications of one issuer share one request. */
  readonly #fetching = new Map<string, Promise<VerifiedList>>();

  constructor(ctx: StatusListCacheContext) {
    this.#ctx = ctx;
  }

  /** The status value (0 valid, 1 revoked, 2 suspended) of entry `idx` of the list at `uri`, published by `issuer`. */
  async statusOf(uri: string, idx: number, issuer: string): Promise<number> {
    const url = await this.#urlFor(uri, issuer);
    const list = await this.#list(url, issuer);
    try {
      return list.statusAt(idx);
    } catch (error) {
      if (isTongbanError(error)) throw error;
      throw new TongbanError('CERTIFICATE_MALFORMED', `The certificate's status index ${idx} is not in the issuer's status list.`);
    }
  }

  /** The list's URL, if it is where the issuer's directory entry says it serves lists. */
  async #urlFor(uri: string, issuer: string): Promise<string> {
    const node = (await this.#ctx.directory.current()).node(issuer);
    if (!node) throw unavailable(`The issuer ${issuer} is not in the directory: its status list cannot be fetched.`);
    const base = node.endpoint.replace(/\/+$/, '') + STATUS_LIST_PATH;
    const id = uri.startsWith(base) ? uri.slice(base.length) : '';
    // One path segment of plain characters, not a dot segment: the list is this very resource of the issuer's.
    if (!/^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,99}$/.test(id)) {
      throw new TongbanError('CERTIFICATE_MALFORMED', `The certificate's status list is not at its issuer's endpoint (${base}…): it is not fetched.`);
    }
    return base + id;
  }

  async #list(url: string, issuer: string): Promise<VerifiedList> {
    const now = this.#ctx.clock();
    const cached = await this.#ctx.store.statusListCache.get(url);
    if (cached) {
      const list = await this.#verify(cached.jwt, url, issuer, now).catch(() => undefined);
      if (list && this.#fresh(list, cached.fetchedAt, now)) return list;
    }
    let pending = this.#fetching.get(url);
    if (!pending) {
      pending = this.#fetch(url, issuer).finally(() => this.#fetching.delete(url));
      this.#fetching.set(url, pending);
    }
    return pending;
  }

  /** Younger than min(ttl, the configured bound) and not expired. */
  #fresh(list: VerifiedList, fetchedAt: number, now: Date): boolean {
    const ttl = list.ttlSeconds > 0 ? Math.min(list.ttlSeconds, this.#ctx.maxAgeSeconds) : this.#ctx.maxAgeSeconds;
    const age = now.getTime() - fetchedAt;
    return age >= 0 && age < ttl * 1000 && now.getTime() < list.expiresAt.getTime();
  }

  async #fetch(url: string, issuer: string): Promise<VerifiedList> {
    const get = this.#ctx.get ?? ((target: string, timeoutMs: number) => peerCall(target, { method: 'GET', headers: { accept: 'application/statuslist+jwt' }, timeoutMs }));
    let answer: PeerAnswer;
    try {
      answer = await get(url, this.#ctx.timeoutMs ?? 10_000);
    } catch (error) {
      throw unavailable(`The issuer ${issuer} did not answer for its status list.`, error);
    }
    if (answer.status !== 200) throw unavailable(`The issuer ${issuer} answered ${answer.status} for its status list.`);
    const jwt = new TextDecoder().decode(answer.body).trim();
    const now = this.#ctx.clock();
    let list: VerifiedList;
    try {
      list = await this.#verify(jwt, url, issuer, now);
    } catch (error) {
      throw unavailable(`The status list ${issuer} served does not verify: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    await this.#ctx.store.statusListCache.put({ uri: url, jwt, fetchedAt: now.getTime() });
    return list;
  }

  /**
   * Verifies a list against the issuer's current keys on the trust list; a key the list does not
   * know yet (the issuer rotated it) makes one refresh of the trust list and a second try.
   */
  async #verify(jwt: string, url: string, issuer: string, now: Date): Promise<VerifiedList> {
    const known = this.#verified.get(url);
    if (known?.jwt === jwt) {
      if (now.getTime() >= known.list.expiresAt.getTime()) throw unavailable(`The status list of ${issuer} has expired.`);
      return known.list;
    }
    for (let attempt = 0; ; attempt++) {
      const trustList = await this.#ctx.trustList.current();
      let unknownKid = false;
      const keys = (kid: string): PublicJwk | undefined => {
        const key = currentIssuerKey(trustList, issuer, kid, now);
        if (!key) unknownKid = true;
        return key;
      };
      try {
        const list = await verifyStatusList(jwt, { keys, uri: url, now });
        this.#verified.set(url, { jwt, list });
        return list;
      } catch (error) {
        if (!unknownKid || attempt > 0) throw error;
        await this.#ctx.trustList.refresh();
      }
    }
  }
}

/**
 * A status list says what holds now: only a key the issuer signs with now (not retired) signs
 * one. Certificates keep verifying under retired keys (issuerKeyFor); their status lists do not.
 */
export function currentIssuerKey(list: TrustList, issuer: string, kid: string, now: Date): PublicJwk | undefined {
  const entry = list.issuers.find((i) => i.division === issuer);
  const key = entry?.keys.find((k) => k.kid === kid);
  if (!key || (key.retiredAt !== undefined && Date.parse(key.retiredAt) <= now.getTime())) return undefined;
  return key.jwk;
}
