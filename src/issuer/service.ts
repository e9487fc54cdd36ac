import { AuditLog, subjectHash, type AuditActor, type AuditEvent } from '../audit/index.ts';
import type { ActionInput, Case, ConcludeHook, ConcludeWrite, Principal } from '../cases/index.ts';
import { decodeCertificate, signStatusList, STATUS_VALUE, type CertificateMetadata } from '../certificates/index.ts';
import { jwkThumbprint, type PublicJwk } from '../crypto/index.ts';
import { TongbanError, type ErrorCode } from '../errors/index.ts';
import type { Person } from '../identity/index.ts';
import type { CertificateRecord } from '../store/index.ts';
import type { IssuerContext } from './context.ts';
import { bindIssued, checkHolderProof } from './holder-binding.ts';
import { AlreadyIssued, decideIssuance, issueIn, statusListUri } from './issuance.ts';

/** A certificate as its issuing node shows it: metadata and status always; the SD-JWT to its holder only. */
export interface CertificateView {
  readonly id: string;
  readonly caseId: string;
  readonly vct: string;
  readonly typeName: string;
  readonly metadata: CertificateMetadata;
  readonly status: CertificateRecord['status'];
  readonly statusReason: string | null;
  readonly statusChangedAt: string | null;
  readonly statusList: { readonly uri: string; readonly idx: number };
  readonly bound: boolean;
  readonly issuedAt: string;
  readonly expiresAt: string;
  /** The full issuance (every disclosure): the holder's alone. */
  readonly sdJwt?: string;
}

export type StatusAction = 'revoke' | 'suspend' | 'reinstate';

/** Each status change: the statuses it starts from and the one it leads to. Revoked is final. */
const STATUS_CHANGES: Readonly<Record<StatusAction, { from: readonly CertificateRecord['status'][]; to: CertificateRecord['status'] }>> = {
  revoke: { from: ['valid', 'suspended'], to: 'revoked' },
  suspend: { from: ['valid'], to: 'suspended' },
  reinstate: { from: ['suspended'], to: 'valid' },
};

/** Staff roles that see this node's certificates (metadata and status, never personal fields). */
const READING_ROLES = ['clerk', 'approver', 'supervisor'] as const;
/** Staff roles that change a certificate's status. */
const STATUS_ROLES = ['approver', 'supervisor'] as const;
/** How long a served status list is valid (its `exp`); verifiers refetch after its `ttl`. */
const STATUS_LIST_VALID_SECONDS = 86_400;

/**
 * Who calls, for the certificate routes: the holder (a citizen, by ID number), staff of this node
 * in one of the roles the step takes, or someone else (refused, yet named in the audit entry).
 */
type Caller =
  | { readonly kind: 'holder'; readonly actor: AuditActor; readonly subjectKey: string }
  | { readonly kind: 'staff'; readonly actor: AuditActor }
  | { readonly kind: 'other'; readonly actor: AuditActor };

/**
 * The issuing side of a node (docs/certificates.md): a granted case concluded here yields its
 * e-certificate in the conclude's own transaction (the case service's conclude hook); an approver
 * issues one later for a concluded case; approvers and supervisors revoke, suspend and reinstate;
 * the status lists are served signed; the holder reads theirs and binds them to a key of their own.
 * Every issuance, status change, read and binding is audited with who did it.
 */
export class CertificateIssuer implements ConcludeHook {
  readonly #ctx: IssuerContext;
  #endpoint: string | undefined;

  constructor(ctx: IssuerContext) {
    this.#ctx = ctx;
  }

  /** The URL this node is reached at (known once it listens): status list URIs start with it. */
  setEndpoint(endpoint: string): void {
    this.#endpoint = endpoint;
  }

  get #base(): string {
    if (this.#endpoint === undefined) throw new Error('certificates: the node has not started listening yet');
    return this.#endpoint;
  }

  // ---- issuance ----

  /** The conclude hook: a granted case whose item yields a certificate gets it in the conclude's transaction. */
  async prepare(c: Case, input: ActionInput, principal: Principal): Promise<ConcludeWrite | undefined> {
    if (c.decision?.outcome !== 'grant' || !c.competentNodes.includes(this.#ctx.self)) return undefined;
    const decision = await decideIssuance(this.#ctx, c, input.certificateFields);
    const actor: AuditActor = { subject: principal.id, node: this.#ctx.self, role: 'approver' };
    if (decision.kind === 'none') return undefined;
    if (decision.kind === 'not-issued') {
      const event: AuditEvent = {
        kind: 'certificate.not-issued',
        outcome: 'refused',
        code: 'CERTIFICATE_NOT_ISSUABLE',
        caseId: c.id,
        itemCode: c.itemCode,
        actor,
        subjectHash: subjectHash(this.#ctx.auditKey, 'idNumber', c.applicant.idNumber),
        detail: { vct: decision.type.vct, reason: decision.reason.slice(0, 300) },
      };
      return async () => ({ events: [event], sentMessages: false });
    }
    const base = this.#base;
    return async (tx) => ({ events: [(await issueIn(tx, this.#ctx, base, decision.plan, actor)).event], sentMessages: true });
  }

  /**
   * `POST /v1/certificates/issue`: an approver of this node issues the certificate of a granted
   * case concluded here (when the node was not yet authorised at the conclude, or a field was
   * missing). The case's certificate if it has one already (`created: false`).
   */
  async issueForCase(person: Person, caseId: string, fields: Readonly<Record<string, string>> | undefined): Promise<{ certificate: CertificateView; created: boolean }> {
    const caller = this.#caller(person, ['approver']);
    const refused = (code: ErrorCode, message: string) => this.#refuse({ kind: 'certificate.issue', caseId: caseId.slice(0, 80), actor: caller.actor }, code, message);
    if (caller.kind !== 'staff') return refused('CERTIFICATE_FORBIDDEN', 'Certificates are issued by an approver of the issuing node.');
    const c = await this.#ctx.store.cases.get(caseId);
    if (!c || !c.competentNodes.includes(this.#ctx.self)) return refused('CASE_NOT_FOUND', `No case ${caseId} decided at ${this.#ctx.self}.`);
    const existing = await this.#ctx.store.certificates.byCase(c.id);
    if (existing) return { certificate: this.#view(existing, false), created: false };
    if ((c.state !== 'concluded' && c.state !== 'delivered') || c.decision?.outcome !== 'grant') {
      return refused('CERTIFICATE_NOT_ISSUABLE', `Case ${c.id} is ${c.state}${c.decision ? ` (${c.decision.outcome})` : ''}: a certificate is issued for a granted, concluded case.`);
    }
    let decision;
    try {
      decision = await decideIssuance(this.#ctx, c, fields);
    } catch (error) {
      if (error instanceof TongbanError) return refused(error.code, error.message);
      throw error;
    }
    if (decision.kind === 'none') return refused('CERTIFICATE_NOT_ISSUABLE', `Item ${c.itemCode} yields no e-certificate.`);
    if (decision.kind === 'not-issued') return refused('CERTIFICATE_NOT_ISSUABLE', `No ${decision.type.name} is issued here: ${decision.reason}.`);
    const base = this.#base;
    try {
      const record = await this.#ctx.store.transaction(async (tx) => {
        const issued = await issueIn(tx, this.#ctx, base, decision.plan, caller.actor);
        await AuditLog.appendIn(tx, [issued.event], this.#ctx.clock());
        return issued.record;
      });
      this.#ctx.messages.kick();
      return { certificate: this.#view(record, false), created: true };
    } catch (error) {
      if (error instanceof AlreadyIssued) {
        const first = await this.#ctx.store.certificates.byCase(c.id);
        if (first) return { certificate: this.#view(first, false), created: false };
      }
      if (error instanceof TongbanError) return refused(error.code, error.message);
      throw error;
    }
  }

  // ---- status ----

  /** Revoke, suspend or reinstate (approver or supervisor of this node); audited with the actor, refusals too. */
  async changeStatus(person: Person, id: string, action: StatusAction, reason: string): Promise<CertificateView> {
    const caller = this.#caller(person, STATUS_ROLES);
    const kind = `certificate.${action}`;
    if (caller.kind !== 'staff') return this.#refuse({ kind, actor: caller.actor, detail: { certificate: id.slice(0, 120) } }, 'CERTIFICATE_FORBIDDEN', `Certificates are ${action === 'revoke' ? 'revoked' : action === 'suspend' ? 'suspended' : 'reinstated'} by an approver or supervisor of the issuing node.`);
    const record = await this.#ctx.store.certificates.get(id);
    if (!record) return this.#refuse({ kind, actor: caller.actor, detail: { certificate: id.slice(0, 120) } }, 'CERTIFICATE_NOT_FOUND', `${this.#ctx.self} issued no certificate ${id}.`);
    const change = STATUS_CHANGES[action];
    const about = { kind, actor: caller.actor, subjectHash: record.subjectKey, caseId: record.caseId, detail: { certificate: record.id, vct: record.vct, from: record.status } };
    const conflict = () => this.#refuse(about, 'CERTIFICATE_STATUS_CONFLICT', record.status === 'revoked' ? 'The certificate is revoked: that is final.' : `A ${record.status} certificate cannot be ${action === 'suspend' ? 'suspended' : action === 'reinstate' ? 'reinstated' : 'revoked'}.`);
    if (!change.from.includes(record.status)) return conflict();
    const at = this.#ctx.clock().toISOString();
    const changed = await this.#ctx.store.transaction(async (tx) => {
      if (!(await tx.certificates.setStatus(record.id, change.from, change.to, reason, at))) return false;
      await AuditLog.appendIn(tx, [{ ...about, outcome: 'allowed', detail: { ...about.detail, to: change.to, reason: reason.slice(0, 200), statusList: record.statusListId, statusIdx: record.statusIdx } }], this.#ctx.clock());
      return true;
    });
    // Another change won meanwhile: what it left is answered as the conflict it is.
    if (!changed) return conflict();
    return this.#view({ ...record, status: change.to, statusReason: reason, statusChangedAt: at }, false);
  }

  /** One status list, signed by this node: what verifiers fetch (public; no personal data in it). */
  async statusList(listId: number): Promise<string> {
    const list = await this.#ctx.store.statusLists.get(listId);
    if (!list) throw new TongbanError('CERTIFICATE_NOT_FOUND', `${this.#ctx.self} has no status list ${listId}.`);
    const statuses = new Array<number>(list.size).fill(STATUS_VALUE.valid);
    for (const { idx, status } of await this.#ctx.store.certificates.statuses(listId)) statuses[idx] = STATUS_VALUE[status];
    return signStatusList({
      key: this.#ctx.signingKey.current(),
      issuer: this.#ctx.self,
      uri: statusListUri(this.#base, listId),
      statuses,
      now: this.#ctx.clock(),
      ttlSeconds: this.#ctx.statusListTtlSeconds,
      validSeconds: STATUS_LIST_VALID_SECONDS,
    });
  }

  // ---- reads ----

  /** Staff of this node: one page of the certificates issued here, newest first (metadata and status only). */
  async list(person: Person, page: { limit: number; offset: number }): Promise<{ certificates: CertificateView[]; total: number }> {
    const caller = this.#caller(person, READING_ROLES);
    if (caller.kind !== 'staff') return this.#refuse({ kind: 'certificate.list', actor: caller.actor }, 'CERTIFICATE_FORBIDDEN', 'The certificates issued here are listed to staff of this node; a holder lists theirs with GET /v1/certificates/mine.');
    const found = await this.#ctx.store.certificates.list({}, page);
    await this.#ctx.audit.append({ kind: 'certificate.list', outcome: 'allowed', actor: caller.actor, detail: { limit: page.limit, offset: page.offset, shown: found.certificates.length, total: found.total } });
    return { certificates: found.certificates.map((r) => this.#view(r, false)), total: found.total };
  }

  /**
   * The certificate this node issued for a case (id, type, status: no personal field), for the
   * case's own answer to whoever may read the case; undefined when it issued none.
   */
  async ofCase(caseId: string): Promise<{ id: string; vct: string; status: CertificateRecord['status'] } | undefined> {
    const record = await this.#ctx.store.certificates.byCase(caseId);
    return record && { id: record.id, vct: record.vct, status: record.status };
  }

  /** A citizen: their certificates from this node, each with its full SD-JWT. */
  async mine(person: Person, page: { limit: number; offset: number }): Promise<{ certificates: CertificateView[]; total: number }> {
    const caller = this.#caller(person, []);
    if (caller.kind !== 'holder') return this.#refuse({ kind: 'certificate.read', actor: caller.actor }, 'CERTIFICATE_FORBIDDEN', 'Only citizens hold certificates: staff list the certificates issued here with GET /v1/certificates.');
    const found = await this.#ctx.store.certificates.list({ subjectKey: caller.subjectKey }, page);
    await this.#ctx.audit.append({ kind: 'certificate.read', outcome: 'allowed', actor: caller.actor, subjectHash: caller.subjectKey, detail: { shown: found.certificates.length, certificates: found.certificates.map((r) => r.id).join(',').slice(0, 500) } });
    return { certificates: found.certificates.map((r) => this.#view(r, true)), total: found.total };
  }

  /** One certificate: its holder gets the SD-JWT, staff of this node metadata and status; anyone else nothing. */
  async get(person: Person, id: string): Promise<CertificateView> {
    const caller = this.#caller(person, READING_ROLES);
    const about = { kind: 'certificate.read', actor: caller.actor, detail: { certificate: id.slice(0, 120) } };
    if (caller.kind === 'other') return this.#refuse(about, 'CERTIFICATE_FORBIDDEN', `Certificates of ${this.#ctx.self} are shown to their holders and to staff of ${this.#ctx.self}.`);
    const record = await this.#ctx.store.certificates.get(id);
    // Another citizen's certificate is not found for them: its existence is not revealed.
    if (!record || (caller.kind === 'holder' && record.subjectKey !== caller.subjectKey)) return this.#refuse(about, 'CERTIFICATE_NOT_FOUND', `No certificate ${id} of yours at ${this.#ctx.self}.`);
    await this.#ctx.audit.append({ ...about, outcome: 'allowed', subjectHash: record.subjectKey, caseId: record.caseId, detail: { certificate: record.id, sdJwt: caller.kind === 'holder' } });
    return this.#view(record, caller.kind === 'holder');
  }

  // ---- holder key binding ----

  /**
   * The holder binds their certificate to a key they hold (proven by `proof`): the node signs the
   * same certificate again with `cnf.jwk`, so that presenting it needs that key. Once only.
   */
  async bind(person: Person, id: string, jwk: PublicJwk, proof: string): Promise<CertificateView> {
    const caller = this.#caller(person, []);
    const about = { kind: 'certificate.bind', actor: caller.actor, detail: { certificate: id.slice(0, 120) } };
    if (caller.kind !== 'holder') return this.#refuse(about, 'CERTIFICATE_FORBIDDEN', 'A certificate is bound to a key by its holder.');
    const record = await this.#ctx.store.certificates.get(id);
    if (!record || record.subjectKey !== caller.subjectKey) return this.#refuse(about, 'CERTIFICATE_NOT_FOUND', `No certificate ${id} of yours at ${this.#ctx.self}.`);
    const known = { ...about, subjectHash: record.subjectKey, caseId: record.caseId };
    if (record.boundThumbprint !== null) return this.#refuse(known, 'CERTIFICATE_ALREADY_BOUND', 'The certificate is bound to a key already.');
    if (record.status === 'revoked') return this.#refuse(known, 'CERTIFICATE_STATUS_CONFLICT', 'The certificate is revoked: it is not bound to a key any more.');
    try {
      await checkHolderProof(proof, jwk, { issuer: this.#ctx.self, certificateId: record.id, now: this.#ctx.clock() });
    } catch (error) {
      if (error instanceof TongbanError) return this.#refuse(known, error.code, error.message);
      throw error;
    }
    const thumbprint = jwkThumbprint(jwk);
    const sdJwt = await bindIssued(record.sdJwt, jwk, this.#ctx.signingKey.current());
    const bound = await this.#ctx.store.transaction(async (tx) => {
      if (!(await tx.certificates.bind(record.id, sdJwt, thumbprint))) return false;
      await AuditLog.appendIn(tx, [{ ...known, outcome: 'allowed', detail: { certificate: record.id, vct: record.vct, thumbprint } }], this.#ctx.clock());
      return true;
    });
    if (!bound) return this.#refuse(known, 'CERTIFICATE_ALREADY_BOUND', 'The certificate is bound to a key already.');
    return this.#view({ ...record, sdJwt, boundThumbprint: thumbprint }, true);
  }

  /**
   * Before a route reads its input: staff of another node are nobody here (CERTIFICATE_FORBIDDEN,
   * on record), whatever they send.
   */
  async admit(person: Person, kind: string, id: string | undefined): Promise<void> {
    if (person.kind === 'citizen' || person.node === this.#ctx.self) return;
    await this.#refuse({ kind, actor: this.#caller(person, []).actor, detail: id === undefined ? {} : { certificate: id.slice(0, 120) } }, 'CERTIFICATE_FORBIDDEN', `Staff of ${person.node ?? 'another node'} have no access to the certificates of ${this.#ctx.self}.`);
  }

  // ---- helpers ----

  /**
   * The caller as a holder (a citizen with their ID number) or as staff of this node acting in one
   * of `roles` (the first they hold); undefined for anyone else (staff of another node, other roles).
   */
  #caller(person: Person, roles: readonly string[]): Caller {
    const self = this.#ctx.self;
    const actor = (role: string): AuditActor => ({ subject: person.subject, node: self, role });
    if (person.kind === 'citizen') {
      return person.idNumber ? { kind: 'holder', actor: actor('holder'), subjectKey: subjectHash(this.#ctx.auditKey, 'idNumber', person.idNumber) } : { kind: 'other', actor: actor('citizen') };
    }
    const role = person.node === self ? roles.find((r) => (person.roles as readonly string[]).includes(r)) : undefined;
    return role ? { kind: 'staff', actor: actor(role) } : { kind: 'other', actor: actor(person.roles[0] ?? person.kind) };
  }

  /** Records a refusal (who, what, the code) and throws it. */
  async #refuse(event: Omit<AuditEvent, 'outcome' | 'code'>, code: ErrorCode, message: string): Promise<never> {
    await this.#ctx.audit.append({ ...event, outcome: 'refused', code });
    throw new TongbanError(code, message);
  }

  #view(record: CertificateRecord, holder: boolean): CertificateView {
    const decoded = decodeCertificate(record.sdJwt);
    return {
      id: record.id,
      caseId: record.caseId,
      vct: record.vct,
      typeName: decoded.metadata.typeName,
      metadata: decoded.metadata,
      status: record.status,
      statusReason: record.statusReason,
      statusChangedAt: record.statusChangedAt,
      statusList: { uri: decoded.payload.status.status_list.uri, idx: record.statusIdx },
      bound: record.boundThumbprint !== null,
      issuedAt: record.issuedAt,
      expiresAt: record.expiresAt,
      ...(holder ? { sdJwt: record.sdJwt } : {}),
    };
  }
}
