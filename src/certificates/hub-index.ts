import { z } from 'zod';
import { AuditLog, subjectHash, type AuditActor } from '../audit/index.ts';
import { TongbanError } from '../errors/index.ts';
import type { DirectorySource } from '../exchange/index.ts';
import type { Person } from '../identity/person.ts';
import type { Messaging } from '../messaging/index.ts';
import { validateLicenseId, validateResidentId } from '../standards/index.ts';
import type { CertificateIndexRecord, Store, StoreOps } from '../store/index.ts';
import type { IssuerRegistry } from './hub-trust.ts';
import { CERTIFICATE_ISSUED_KIND, CertificateIssuedMessage } from './index-message.ts';
import { certificateTypeByVct } from './types.ts';

/** The most certificate ids a tracker proof carries (the holder's newest). */
export const MAX_TRACKED_CERTIFICATES = 100;

/** One certificate in the citizen's wallet (`GET /v1/wallet`): where it is, never what it says. */
export const WalletEntry = z.object({
  certificateId: z.string(),
  vct: z.string(),
  /** 证照类型名称, e.g. 结婚证. */
  typeName: z.string(),
  /** The issuing node's division and name. */
  issuer: z.string(),
  issuerName: z.string(),
  issuedAt: z.string(),
  expiresAt: z.string(),
  /** The issuer's directory endpoint: where the holder fetches the certificate itself (null when the issuer left the directory). */
  endpoint: z.string().nullable(),
  /** Where its status is published: the issuer's status list at that endpoint and its index there (null for certificates filed before this was recorded). */
  statusList: z.object({ list: z.number().int(), index: z.number().int() }).nullable(),
});
export type WalletEntry = z.infer<typeof WalletEntry>;

export interface CertificateIndexContext {
  /** The hub's division. */
  readonly self: string;
  readonly store: Store;
  readonly audit: AuditLog;
  /** Keys the holder's subject hash (as consents and the audit log do). */
  readonly auditKey: Uint8Array;
  readonly issuers: IssuerRegistry;
  readonly directory: DirectorySource;
  readonly clock: () => Date;
}

/**
 * The hub's certificate index: issuers report each certificate they issue (message
 * `certificate.issued`), the hub files it under its keyed hash of the holder's ID number, and the
 * citizen lists theirs (the wallet) — the certificates themselves stay with their issuers. The
 * sender is the node whose signature the messaging layer verified; it must be authorised for the
 * certificate's type now, and the certificate id must name its authority code and the type's code,
 * so no node files (or claims) another issuer's certificates.
 */
export class CertificateIndex {
  readonly #ctx: CertificateIndexContext;

  constructor(ctx: CertificateIndexContext) {
    this.#ctx = ctx;
  }

  register(messages: Messaging): void {
    messages.register(CERTIFICATE_ISSUED_KIND, CertificateIssuedMessage, async (tx, message) => {
      const record = await this.#check(tx, message.from, message.payload);
      if (!(await tx.certificateIndex.add(record))) {
        const filed = (await tx.certificateIndex.get(record.certificateId))!;
        // The same report again (a retry, a copy): nothing to do; different details under the same id: refused.
        if (filed.issuer === record.issuer && filed.subjectKey === record.subjectKey && filed.vct === record.vct) return { result: 'stale' };
        throw new TongbanError('VALIDATION_FAILED', `Certificate ${record.certificateId} is filed already with other details.`, { errors: [{ path: 'certificateId', message: 'filed already' }] });
      }
      await AuditLog.appendIn(tx, [{ kind: 'certificate.index', outcome: 'allowed', requester: message.from, subjectHash: record.subjectKey, detail: { certificate: record.certificateId, vct: record.vct } }], this.#ctx.clock());
      return { result: 'applied' };
    }, {
      refused: async (from, message, error) => {
        const payload = CertificateIssuedMessage.safeParse(message.payload);
        await this.#ctx.audit.append({
          kind: 'certificate.index',
          outcome: 'refused',
          code: error.code,
          requester: from,
          detail: { message: message.id, ...(payload.success ? { certificate: payload.data.certificateId, vct: payload.data.vct } : {}), reason: error.message.slice(0, 300) },
        });
      },
    });
  }

  /** The calling citizen's certificates, newest first (CERTIFICATE_FORBIDDEN for anyone but a citizen signed in at the hub). */
  async wallet(person: Person, page: { limit: number; offset: number }): Promise<{ certificates: WalletEntry[]; total: number }> {
    const ctx = this.#ctx;
    const idNumber = await this.#citizen(person);
    const subjectKey = subjectHash(ctx.auditKey, 'idNumber', idNumber);
    const { certificates, total } = await ctx.store.certificateIndex.listBySubject(subjectKey, page);
    const view = await ctx.directory.current();
    const trusted = new Map((await ctx.issuers.current()).issuers.map((i) => [i.division, i]));
    const actor: AuditActor = { subject: person.subject, node: ctx.self, role: 'citizen' };
    await ctx.audit.append({ kind: 'certificate.wallet', outcome: 'allowed', subjectHash: subjectKey, actor, detail: { certificates: certificates.length } });
    return {
      certificates: certificates.map((c) => ({
        certificateId: c.certificateId,
        vct: c.vct,
        typeName: certificateTypeByVct(c.vct)?.name ?? c.vct,
        issuer: c.issuer,
        issuerName: view.node(c.issuer)?.name ?? trusted.get(c.issuer)?.name ?? c.issuer,
        issuedAt: c.issuedAt,
        expiresAt: c.expiresAt,
        endpoint: view.node(c.issuer)?.endpoint ?? null,
        statusList: c.status,
      })),
      total,
    };
  }

  /** The ids of the citizen's newest certificates (for the tracker proof: nodes file verifications without an ID number under them). */
  async idsOf(idNumber: string): Promise<string[]> {
    const subjectKey = subjectHash(this.#ctx.auditKey, 'idNumber', idNumber);
    const { certificates } = await this.#ctx.store.certificateIndex.listBySubject(subjectKey, { limit: MAX_TRACKED_CERTIFICATES, offset: 0 });
    return certificates.map((c) => c.certificateId);
  }

  async #check(tx: StoreOps, from: string, payload: CertificateIssuedMessage): Promise<CertificateIndexRecord> {
    const issuer = await this.#ctx.issuers.issuer(from, tx);
    if (!issuer || !issuer.types.includes(payload.vct)) throw new TongbanError('CERTIFICATE_ISSUER_UNTRUSTED', `${from} is not authorised to issue ${payload.vct}.`);
    const type = certificateTypeByVct(payload.vct)!;
    const id = validateLicenseId(payload.certificateId).parsed!;
    if (id.issuerCode !== issuer.authorityCode || id.typeCode !== type.typeCode) {
      throw new TongbanError('CERTIFICATE_ISSUER_UNTRUSTED', `Certificate ${payload.certificateId} does not name ${from}'s authority code ${issuer.authorityCode} and the type code of ${type.id}.`);
    }
    // The wallet is a citizen's: an entity's certificate (a business licence) is filed under the
    // citizen who applied for it and holds it, like any other.
    const holder = validateResidentId(payload.holderIdNumber);
    if (!holder.valid || holder.value !== payload.holderIdNumber) {
      throw new TongbanError('VALIDATION_FAILED', 'holderIdNumber: not a valid resident ID number in its normalised form.', { errors: [{ path: 'holderIdNumber', message: 'invalid' }] });
    }
    return {
      certificateId: payload.certificateId,
      subjectKey: subjectHash(this.#ctx.auditKey, 'idNumber', payload.holderIdNumber),
      issuer: from,
      vct: payload.vct,
      issuedAt: payload.issuedAt,
      expiresAt: payload.expiresAt,
      status: payload.status ?? null,
    };
  }

  /**
   * The ID number of the citizen who is calling: a hub access token whose account the hub holds,
   * enabled, with that very number (as for consents). Staff and machine clients are refused.
   */
  async #citizen(person: Person): Promise<string> {
    if (person.kind !== 'citizen' || !person.idNumber || person.via !== 'access-token') {
      throw new TongbanError('CERTIFICATE_FORBIDDEN', 'Only a citizen signed in at the hub (a hub access token) lists a wallet, their own.');
    }
    const account = await this.#ctx.store.people.get(person.subject);
    if (!account || account.kind !== 'citizen' || account.disabled || account.idNumber !== person.idNumber) {
      throw new TongbanError('CERTIFICATE_FORBIDDEN', 'The access token names no enabled citizen account of this hub.');
    }
    return person.idNumber;
  }
}
