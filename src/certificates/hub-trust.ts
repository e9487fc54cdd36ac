import { z } from 'zod';
import { AuditLog, type AuditActor } from '../audit/index.ts';
import type { PublicJwk, SigningKeySource } from '../crypto/index.ts';
import { TongbanError } from '../errors/index.ts';
import { validateCreditCode } from '../standards/index.ts';
import type { CertificateIssuerKeyRecord, CertificateIssuerRecord, Store, StoreOps } from '../store/index.ts';
import { signTrustList, type TrustList } from './trust-list.ts';
import { certificateTypeById, certificateTypeByVct, certificateTypes } from './types.ts';

const DAY_MS = 86_400_000;
/** A trust list is good for an hour (`nextUpdate`); the hub signs a fresh one at half that, or at once after a change. */
export const TRUST_LIST_TTL_SECONDS = 3600;
const VERSION_KEY = 'certificates.trustListVersion';

/** What the administrator sends to authorise a node as an issuer (or to change its authorisation). */
/** The names a type is given by in a request: its id or its vct. */
const CERTIFICATE_TYPE_NAMES = certificateTypes.flatMap((t) => [t.id, t.vct]) as [string, ...string[]];
const typeIdOf = (name: string) => certificateTypeByVct(name)?.id ?? name;

export const IssuerAuthorisation = z
  .object({
    division: z.string().regex(/^\d{6}$/, 'a division code has six digits'),
    /** 证照颁发机构, as the certificates will name it. */
    authority: z.string().trim().min(2).max(100),
    /** Its GB 32100 unified social credit code (normalised: 18 capitals and digits, valid check character). */
    authorityCode: z.string().refine((code) => {
      const result = validateCreditCode(code);
      return result.valid && result.value === code;
    }, 'a valid GB 32100 unified social credit code'),
    /**
     * Certificate types, by id (marriage, household-move, social-insurance, no-criminal-record,
     * business-licence) or by vct (`urn:tongban:certificate:<id>`, as the answer and the trust list name them).
     */
    types: z
      .array(z.enum(CERTIFICATE_TYPE_NAMES))
      .min(1)
      .max(10)
      .refine((names) => new Set(names.map(typeIdOf)).size === names.length, 'a type is listed twice'),
  })
  .strict();
export type IssuerAuthorisation = z.infer<typeof IssuerAuthorisation>;

/** An issuer as the administrator sees it: the authorisation and every key the hub holds for it. */
export interface IssuerView extends CertificateIssuerRecord {
  readonly keys: readonly CertificateIssuerKeyRecord[];
}

/** Where something reads the trust list from: the hub's own registry, or a node's verified copy of it. */
export interface TrustListSource {
  /** The trust list in force (TRUST_LIST_UNAVAILABLE when there is none). */
  current(): Promise<TrustList>;
  /** Fetches (or rebuilds) it now, whatever its age. */
  refresh(): Promise<TrustList>;
}

export interface IssuerRegistryOptions {
  /** The hub's division: the trust list's issuer. */
  readonly self: string;
  readonly store: Store;
  /** The hub's directory signing key (read at each signing). */
  readonly signingKey: SigningKeySource;
  readonly clock: () => Date;
}

/**
 * The hub's certificate issuers (docs/certificates.md): which nodes the administrator authorised to
 * issue which certificate types under which authority, the keys their certificates verify with, and
 * the trust list — all of it signed with the hub's directory key, which every node already trusts.
 *
 * A node's certificate key is its directory signing key: recorded when it is authorised, and when
 * the directory approves a rotation of it the new key is added and the old one retired — still
 * good for certificates it signed before (until the longest validity of the node's types has
 * passed), never for one it signs afterwards. A withdrawn issuer leaves the trust list and its keys
 * expire at once: none of its certificates verifies any more.
 */
export class IssuerRegistry implements TrustListSource {
  readonly #options: IssuerRegistryOptions;
  #cached: { version: number; jws: string; list: TrustList; builtAt: number } | undefined;
  #building: Promise<unknown> = Promise.resolve();
  /** Administrator changes one at a time: each reads the version and writes the next. */
  #changing: Promise<unknown> = Promise.resolve();

  constructor(options: IssuerRegistryOptions) {
    this.#options = options;
  }

  /** Authorises `input.division` (an approved node of the directory) or changes its authorisation. */
  authorise(input: IssuerAuthorisation, actor: AuditActor): Promise<{ issuer: IssuerView; changed: boolean }> {
    return this.#serially(() => this.#authorise(input, actor));
  }

  /** Withdraws an issuer's authorisation: it leaves the trust list and its keys stop verifying now. */
  withdraw(division: string, actor: AuditActor): Promise<{ issuer: IssuerView; changed: boolean }> {
    return this.#serially(() => this.#withdraw(division, actor));
  }

  #serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#changing.then(fn);
    this.#changing = run.catch(() => undefined);
    return run;
  }

  async #authorise(input: IssuerAuthorisation, actor: AuditActor): Promise<{ issuer: IssuerView; changed: boolean }> {
    const { store, clock } = this.#options;
    const now = clock();
    const at = now.toISOString();
    const types = input.types.map((name) => certificateTypeById(typeIdOf(name))!.vct);
    return store.transaction(async (tx) => {
      const node = await tx.directory.get(input.division);
      if (!node || node.status !== 'approved' || node.role !== 'node') throw new TongbanError('NODE_NOT_APPROVED', `${input.division} is not an approved node of the directory.`);
      // A certificate id names its issuer by authority code: two issuers never share one.
      const holder = (await tx.certificateIssuers.list()).find((i) => i.authorityCode === input.authorityCode && i.division !== input.division);
      if (holder) {
        throw new TongbanError('VALIDATION_FAILED', `authorityCode: ${input.authorityCode} is the authority code of issuer ${holder.division}.`, { errors: [{ path: 'authorityCode', message: 'taken by another issuer' }] });
      }
      const existing = await tx.certificateIssuers.get(input.division);
      const active = existing !== undefined && existing.withdrawnAt === null;
      const record: CertificateIssuerRecord = {
        division: input.division,
        authority: input.authority,
        authorityCode: input.authorityCode,
        types,
        authorisedAt: active ? existing.authorisedAt : at,
        authorisedBy: active && sameTerms(existing, input.authority, input.authorityCode, types) ? existing.authorisedBy : actor.subject,
        withdrawnAt: null,
      };
      const keys = await tx.certificateIssuers.keys(input.division);
      const keyChanges = adoptKey(keys, input.division, node.signingKey, now, longestValidityDays(types));
      const changed = !active || !sameTerms(existing, record.authority, record.authorityCode, record.types) || keyChanges.length > 0;
      if (changed) {
        await tx.certificateIssuers.put(record);
        for (const key of keyChanges) await tx.certificateIssuers.putKey(key);
        await bumpVersion(tx);
        await AuditLog.appendIn(
          tx,
          [{ kind: 'certificate.issuer.authorise', outcome: 'allowed', requester: input.division, actor, detail: { authority: record.authority, authorityCode: record.authorityCode, types: types.join(','), kid: node.signingKey.kid } }],
          now,
        );
      }
      return { issuer: { ...(changed ? record : existing!), keys: await tx.certificateIssuers.keys(input.division) }, changed };
    });
  }

  async #withdraw(division: string, actor: AuditActor): Promise<{ issuer: IssuerView; changed: boolean }> {
    const { store, clock } = this.#options;
    const now = clock();
    const at = now.toISOString();
    return store.transaction(async (tx) => {
      const existing = await tx.certificateIssuers.get(division);
      if (!existing) throw new TongbanError('NOT_FOUND', `${division} is not a certificate issuer.`);
      if (existing.withdrawnAt !== null) return { issuer: { ...existing, keys: await tx.certificateIssuers.keys(division) }, changed: false };
      const record = { ...existing, withdrawnAt: at };
      await tx.certificateIssuers.put(record);
      for (const key of await tx.certificateIssuers.keys(division)) {
        if (key.verifyUntil !== null && key.verifyUntil <= at) continue;
        await tx.certificateIssuers.putKey({ ...key, retiredAt: key.retiredAt ?? at, verifyUntil: at });
      }
      await bumpVersion(tx);
      await AuditLog.appendIn(tx, [{ kind: 'certificate.issuer.withdraw', outcome: 'allowed', requester: division, actor, detail: { authority: existing.authority, types: existing.types.join(',') } }], now);
      return { issuer: { ...record, keys: await tx.certificateIssuers.keys(division) }, changed: true };
    });
  }

  /**
   * The directory approved a rotation of `division`'s signing key (called inside that transaction):
   * for an authorised issuer the new key becomes its certificate key and the old one is retired.
   */
  async keyRotated(tx: StoreOps, rotation: { division: string; next: { kid: string; jwk: PublicJwk }; at: Date }): Promise<void> {
    const issuer = await tx.certificateIssuers.get(rotation.division);
    if (!issuer || issuer.withdrawnAt !== null) return;
    const changes = adoptKey(await tx.certificateIssuers.keys(rotation.division), rotation.division, rotation.next, rotation.at, longestValidityDays(issuer.types));
    if (changes.length === 0) return;
    for (const key of changes) await tx.certificateIssuers.putKey(key);
    await bumpVersion(tx);
    await AuditLog.appendIn(tx, [{ kind: 'certificate.issuer.key', outcome: 'allowed', requester: rotation.division, detail: { kid: rotation.next.kid, retired: changes.filter((k) => k.retiredAt !== null).map((k) => k.kid).join(',') } }], rotation.at);
  }

  /** The issuer's authorisation, if it holds one now (not withdrawn). */
  async issuer(division: string, tx: StoreOps = this.#options.store): Promise<CertificateIssuerRecord | undefined> {
    const record = await tx.certificateIssuers.get(division);
    return record && record.withdrawnAt === null ? record : undefined;
  }

  /** The signed trust list (compact JWS) and what it says; re-signed after a change or half its lifetime. */
  async signed(): Promise<{ jws: string; list: TrustList }> {
    const { store, clock } = this.#options;
    // The version first: what is read after it is at least as new (a list may then carry an older
    // version number than its content, never the reverse; the next read signs it again).
    const version = await currentVersion(store);
    const fresh = this.#fresh(version);
    if (fresh) return fresh;
    // One build at a time, as for the directory snapshot.
    const build = this.#building.then(() => this.#fresh(version) ?? this.#build(version, clock()));
    this.#building = build.catch(() => undefined);
    return build;
  }

  async current(): Promise<TrustList> {
    return (await this.signed()).list;
  }

  async refresh(): Promise<TrustList> {
    this.#cached = undefined;
    return this.current();
  }

  #fresh(version: number): { jws: string; list: TrustList } | undefined {
    const cached = this.#cached;
    if (cached && cached.version === version && this.#options.clock().getTime() - cached.builtAt < (TRUST_LIST_TTL_SECONDS * 1000) / 2) return cached;
    return undefined;
  }

  async #build(version: number, now: Date): Promise<{ jws: string; list: TrustList }> {
    const { store, self, signingKey } = this.#options;
    const at = now.toISOString();
    const issuers = (await store.certificateIssuers.list()).filter((i) => i.withdrawnAt === null);
    const keys = await store.certificateIssuers.keys();
    const nodes = new Map((await store.directory.list()).map((n) => [n.division, n]));
    const list: TrustList = {
      issuer: self,
      version,
      issuedAt: at,
      nextUpdate: new Date(now.getTime() + TRUST_LIST_TTL_SECONDS * 1000).toISOString(),
      issuers: issuers
        .map((i) => ({
          division: i.division,
          name: nodes.get(i.division)?.name ?? i.division,
          authority: i.authority,
          authorityCode: i.authorityCode,
          types: [...i.types],
          // A key past its verifyUntil verifies nothing any more: it is no longer published.
          keys: keys
            .filter((k) => k.division === i.division && (k.verifyUntil === null || k.verifyUntil > at))
            .map((k) => ({ kid: k.kid, jwk: k.jwk, from: k.from, ...(k.retiredAt ? { retiredAt: k.retiredAt } : {}), ...(k.verifyUntil ? { verifyUntil: k.verifyUntil } : {}) })),
        }))
        .filter((i) => i.keys.length > 0),
    };
    const jws = await signTrustList(list, signingKey.current());
    this.#cached = { version, jws, list, builtAt: now.getTime() };
    return { jws, list };
  }
}

/** The longest validity (days) of the types: how long a retired key must keep verifying. */
function longestValidityDays(vcts: readonly string[]): number {
  return Math.max(0, ...vcts.map((vct) => certificateTypeByVct(vct)?.validityDays ?? 0));
}

/**
 * The key rows to write so that `key` is the issuer's one current key: it is added (or made current
 * again), and every other current key is retired now, verifying what it signed before for
 * `validityDays` more. Nothing when it is the current key already.
 */
function adoptKey(keys: readonly CertificateIssuerKeyRecord[], division: string, key: { kid: string; jwk: PublicJwk }, now: Date, validityDays: number): CertificateIssuerKeyRecord[] {
  const at = now.toISOString();
  const changes: CertificateIssuerKeyRecord[] = [];
  const known = keys.find((k) => k.kid === key.kid);
  if (!known) changes.push({ division, kid: key.kid, jwk: key.jwk, from: at, retiredAt: null, verifyUntil: null });
  else if (known.retiredAt !== null || known.verifyUntil !== null) changes.push({ ...known, retiredAt: null, verifyUntil: null });
  const verifyUntil = new Date(now.getTime() + validityDays * DAY_MS).toISOString();
  for (const other of keys) {
    if (other.kid !== key.kid && other.retiredAt === null) changes.push({ ...other, retiredAt: at, verifyUntil });
  }
  return changes;
}

function sameTerms(existing: CertificateIssuerRecord, authority: string, authorityCode: string, types: readonly string[]): boolean {
  return existing.authority === authority && existing.authorityCode === authorityCode && [...existing.types].sort().join() === [...types].sort().join();
}

async function currentVersion(store: StoreOps): Promise<number> {
  return (await store.settings.get<number>(VERSION_KEY)) ?? 0;
}

/** Every change to what the trust list says raises its version, in the transaction of the change. */
async function bumpVersion(tx: StoreOps): Promise<void> {
  await tx.settings.put(VERSION_KEY, (await currentVersion(tx)) + 1);
}
