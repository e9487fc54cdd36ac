import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AgreementStateSource } from '../../agreements/index.ts';
import { AuditLog, subjectHash, type AuditActor } from '../../audit/index.ts';
import type { SigningKeySource } from '../../crypto/index.ts';
import { TongbanError } from '../../errors/index.ts';
import type { ConsentStatusAnswer, DirectorySource } from '../../exchange/index.ts';
import type { Messaging, MessageSender } from '../../messaging/index.ts';
import type { ConsentRecord, Store } from '../../store/index.ts';
import type { Person } from '../person.ts';
import { CONSENT_REVOKED_KIND, CONSENT_USED_KIND, ConsentClaims, ConsentUse, consentStatus, consentViewStatus, type ConsentViewStatus } from './model.ts';
import { signConsent } from './sign.ts';

const DAY_MS = 86_400_000;
const Division = z.string().regex(/^\d{6}$/, 'a division code has six digits');

/** What a citizen asks the hub to sign (`POST /v1/consents`). */
export const ConsentGrantInput = z
  .object({
    requester: Division,
    provider: Division,
    agreementId: z.string().min(1).max(80),
    itemCode: z.string().min(1).max(30),
    /** Needed only when the item grants the requester several services of the provider. */
    service: z.string().min(3).max(100).optional(),
    purpose: z.string().min(1).max(100),
    fields: z.array(z.string().min(1).max(60)).min(1).max(50),
    expiresAt: z.iso.datetime(),
    use: ConsentUse,
  })
  .strict();
export type ConsentGrantInput = z.infer<typeof ConsentGrantInput>;

/** A consent as its citizen sees it: the terms, where it stands, how often the provider used it, the artefact. */
export interface ConsentView {
  readonly id: string;
  /** active, used (single use, served), revoked or expired. */
  readonly status: ConsentViewStatus;
  readonly useCount: number;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
  readonly createdAt: string;
  readonly requester: string;
  readonly provider: string;
  readonly agreementId: string;
  readonly itemCode: string;
  readonly service: string;
  readonly purpose: string;
  readonly fields: string[];
  readonly use: ConsentUse;
  readonly notBefore: string;
  readonly expiresAt: string;
  readonly artefact: string;
}

export interface ConsentServiceContext {
  /** The hub's division: the issuer of every artefact. */
  readonly self: string;
  readonly store: Store;
  readonly audit: AuditLog;
  /** Keys the citizen's subject hash (as in the audit log). */
  readonly auditKey: Uint8Array;
  /** The hub's directory signing key (read at each use: rotations). */
  readonly signingKey: SigningKeySource;
  readonly directory: DirectorySource;
  readonly messages: MessageSender;
  readonly clock: () => Date;
  /** The longest a consent may last (config exchange.consentMaxDays). */
  readonly maxDays: number;
  readonly agreementStates?: AgreementStateSource;
}

/**
 * The hub's side of consent (docs/consent.md): a signed-in citizen grants a consent for one grant
 * of a registered agreement that requires it — the hub signs the artefact on their behalf and
 * keeps it — lists their own and revokes them; a revocation goes to the provider the artefact
 * names through the messaging outbox (retried until delivered, across restarts). Providers report
 * each use the same way; the count the citizen sees is the provider's.
 */
export class ConsentService {
  readonly #ctx: ConsentServiceContext;

  constructor(ctx: ConsentServiceContext) {
    this.#ctx = ctx;
  }

  async grant(person: Person, input: ConsentGrantInput): Promise<ConsentView> {
    const ctx = this.#ctx;
    const subject = await this.#citizen(person);
    const now = ctx.clock();
    const view = await ctx.directory.current();
    const agreement = view.policy.get(input.agreementId);
    if (!agreement) throw new TongbanError('AGREEMENT_NOT_FOUND', `No registered agreement ${input.agreementId}.`);
    let service = input.service;
    if (service === undefined) {
      const services = agreement.items
        .filter((i) => i.itemCode === input.itemCode)
        .flatMap((i) => i.grants)
        .filter((g) => g.provider === input.provider && g.requesters.includes(input.requester))
        .map((g) => g.service);
      if (services.length > 1) throw new TongbanError('VALIDATION_FAILED', `Item ${input.itemCode} grants ${input.requester} several services of ${input.provider}; name the service.`, { errors: [{ path: 'service', message: 'required here' }] });
      service = services[0] ?? '(none)';
    }
    // The same decision a provider takes: registered, in force here, parties, item, service, fields, purpose.
    await ctx.agreementStates?.refresh?.();
    const decision = view.policy.decide({ ...input, service, hasConsent: true }, now, ctx.agreementStates);
    if (!decision.allowed) throw new TongbanError(decision.code, decision.reason);
    if (!decision.grant.consentRequired) {
      throw new TongbanError('CONSENT_NOT_REQUIRED', `Agreement ${agreement.id} does not require consent for ${service} of ${input.provider} under item ${input.itemCode}.`);
    }
    const expires = Date.parse(input.expiresAt);
    const problem =
      expires <= now.getTime() + 60_000
        ? 'a consent must expire in the future (at least a minute from now)'
        : expires - now.getTime() > ctx.maxDays * DAY_MS
          ? `a consent may last at most ${ctx.maxDays} days`
          : expires > Date.parse(agreement.validUntil)
            ? `a consent may not outlast its agreement (valid until ${agreement.validUntil})`
            : undefined;
    if (problem) throw new TongbanError('VALIDATION_FAILED', `expiresAt: ${problem}.`, { errors: [{ path: 'expiresAt', message: problem }] });
    const key = ctx.signingKey.current();
    const at = now.toISOString();
    const claims: ConsentClaims = {
      id: randomUUID(),
      issuer: ctx.self,
      kid: key.kid,
      subject: { type: 'idNumber', value: subject },
      requester: input.requester,
      provider: input.provider,
      agreementId: agreement.id,
      itemCode: input.itemCode,
      service,
      purpose: input.purpose,
      fields: [...new Set(input.fields)],
      use: input.use,
      issuedAt: at,
      notBefore: at,
      expiresAt: new Date(expires).toISOString(),
    };
    const artefact = await signConsent(key, claims);
    const record: ConsentRecord = {
      id: claims.id,
      subjectKey: this.#subjectKey(subject),
      requester: claims.requester,
      provider: claims.provider,
      artefact,
      status: 'active',
      expiresAt: claims.expiresAt,
      revokedAt: null,
      useCount: 0,
      lastUsedAt: null,
      createdAt: at,
    };
    await ctx.store.transaction(async (tx) => {
      await tx.consents.add(record);
      await AuditLog.appendIn(tx, [{ ...this.#event(record, claims), actor: this.#actor(person), kind: 'consent.grant', outcome: 'allowed', detail: { consent: claims.id, use: claims.use, expiresAt: claims.expiresAt, fields: claims.fields.join(',') } }], now);
    });
    return viewOf(record, claims, now);
  }

  /** The caller's own consents, newest first. */
  async list(person: Person, page: { limit: number; offset: number }): Promise<{ consents: ConsentView[]; total: number }> {
    const subject = await this.#citizen(person);
    const now = this.#ctx.clock();
    const { consents, total } = await this.#ctx.store.consents.listBySubject(this.#subjectKey(subject), page);
    return { consents: consents.map((r) => viewOf(r, claimsOf(r), now)), total };
  }

  /**
   * Revokes the caller's own consent (CONSENT_NOT_FOUND for anyone else's: existence is not
   * revealed) and, in the same transaction, queues the news for the provider it names. Revoking
   * again changes nothing.
   */
  async revoke(person: Person, id: string): Promise<ConsentView> {
    const ctx = this.#ctx;
    const subject = await this.#citizen(person);
    const record = await ctx.store.consents.get(id);
    if (!record || record.subjectKey !== this.#subjectKey(subject)) throw new TongbanError('CONSENT_NOT_FOUND', `You have no consent ${id}.`);
    const now = ctx.clock();
    const at = now.toISOString();
    const claims = claimsOf(record);
    const changed = await ctx.store.transaction(async (tx) => {
      if (!(await tx.consents.revoke(id, at))) return false;
      await ctx.messages.send(tx, { destination: record.provider, kind: CONSENT_REVOKED_KIND, conversation: `consent:${id}`, payload: { id, revokedAt: at } });
      await AuditLog.appendIn(tx, [{ ...this.#event(record, claims), actor: this.#actor(person), kind: 'consent.revoke', outcome: 'allowed', detail: { consent: id } }], now);
      return true;
    });
    if (changed) ctx.messages.kick();
    const fresh = (await ctx.store.consents.get(id))!;
    return viewOf(fresh, claims, now);
  }

  /** `POST /v1/consents/:id/status`: for the requester or provider the consent names, nobody else. */
  async statusFor(node: string, id: string): Promise<ConsentStatusAnswer> {
    const record = await this.#ctx.store.consents.get(id);
    if (!record || (record.requester !== node && record.provider !== node)) throw new TongbanError('CONSENT_NOT_FOUND', `No consent ${id} names ${node}.`);
    return { id, status: consentStatus(record, this.#ctx.clock()), useCount: record.useCount, artefact: record.artefact };
  }

  /** Hub: providers report use counts (message `consent.used`); only the consent's own provider counts. */
  register(messages: Messaging): void {
    messages.register(CONSENT_USED_KIND, UsedMessage, async (tx, message) => {
      const changed = await tx.consents.reportUses(message.payload.id, message.from, message.payload.uses, message.payload.lastUsedAt);
      return { result: changed ? 'applied' : 'stale' };
    });
  }

  /**
   * The ID number of the citizen who is calling, or CONSENT_FORBIDDEN. Only a citizen signed in at
   * this hub consents, each for themselves: a hub access token (a JWT the hub's OIDC key signed)
   * whose account the hub still holds, enabled, with that very ID number. Staff, machine clients
   * (never a citizen: one staff role each) and a token for an account the hub does not hold (or
   * holds with another number) are refused.
   */
  async #citizen(person: Person): Promise<string> {
    if (person.kind !== 'citizen' || !person.idNumber || person.via !== 'access-token') {
      throw new TongbanError('CONSENT_FORBIDDEN', 'Only a citizen signed in at the hub (a hub access token) grants, lists and revokes consents, each their own.');
    }
    const account = await this.#ctx.store.people.get(person.subject);
    if (!account || account.kind !== 'citizen' || account.disabled || account.idNumber !== person.idNumber) {
      throw new TongbanError('CONSENT_FORBIDDEN', 'The access token names no enabled citizen account of this hub.');
    }
    return person.idNumber;
  }

  /** Who acted, as the audit log names them: the citizen's subject at the hub (never their ID number or name). */
  #actor(person: Person): AuditActor {
    return { subject: person.subject, node: this.#ctx.self, role: 'citizen' };
  }

  #subjectKey(idNumber: string): string {
    return subjectHash(this.#ctx.auditKey, 'idNumber', idNumber);
  }

  #event(record: ConsentRecord, claims: ConsentClaims) {
    return { requester: record.requester, provider: record.provider, agreementId: claims.agreementId, itemCode: claims.itemCode, service: claims.service, purpose: claims.purpose, subjectHash: record.subjectKey };
  }
}

const RevokedMessage = z.object({ id: z.uuid(), revokedAt: z.iso.datetime() }).strict();
const UsedMessage = z.object({ id: z.uuid(), uses: z.number().int().min(1), lastUsedAt: z.iso.datetime() }).strict();

/**
 * Nodes: the hub's word that a consent is revoked (message `consent.revoked`, from the hub alone).
 * Recorded in `consent_uses`; the next use is refused with CONSENT_REVOKED.
 */
export function registerConsentRevocations(messages: Messaging, ctx: { directory: DirectorySource; audit: AuditLog; clock: () => Date }): void {
  messages.register(CONSENT_REVOKED_KIND, RevokedMessage, async (tx, message) => {
    const view = await ctx.directory.current();
    if (message.from !== view.snapshot.issuer) throw new TongbanError('CONSENT_FORBIDDEN', `Only the hub revokes consents; ${message.from} is not the hub.`);
    await tx.consentUses.revoke(message.payload.id, message.payload.revokedAt);
    await AuditLog.appendIn(tx, [{ kind: 'consent.revoked', outcome: 'received', requester: message.from, detail: { consent: message.payload.id } }], ctx.clock());
  });
}

/** The claims of an artefact this hub signed and stored (no need to verify its own signature). */
function claimsOf(record: ConsentRecord): ConsentClaims {
  const payload = record.artefact.split('.')[1]!;
  return ConsentClaims.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
}

function viewOf(record: ConsentRecord, claims: ConsentClaims, now: Date): ConsentView {
  return {
    id: record.id,
    status: consentViewStatus(record, claims.use, now),
    useCount: record.useCount,
    lastUsedAt: record.lastUsedAt,
    revokedAt: record.revokedAt,
    createdAt: record.createdAt,
    requester: claims.requester,
    provider: claims.provider,
    agreementId: claims.agreementId,
    itemCode: claims.itemCode,
    service: claims.service,
    purpose: claims.purpose,
    fields: claims.fields,
    use: claims.use,
    notBefore: claims.notBefore,
    expiresAt: claims.expiresAt,
    artefact: record.artefact,
  };
}
