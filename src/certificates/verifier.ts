import { randomBytes, randomUUID } from 'node:crypto';
import { subjectHash, type AuditLog, type AuditEvent } from '../audit/index.ts';
import { TongbanError, isTongbanError, type ErrorCode } from '../errors/index.ts';
import type { Person } from '../identity/person.ts';
import type { Store } from '../store/index.ts';
import { certificateSubjectHash } from '../tracker/node-entries.ts';
import { certificateTypeByVct, decodeCertificate, isRefusedAfterSignature, verifyPresentation, type VerifiedCertificate } from './index.ts';
import type { TrustListSource } from './index.ts';
import type { StatusListCache } from './status-lists.ts';

/** How long a key-binding challenge may be used. */
export const CHALLENGE_SECONDS = 300;

/** The staff roles that verify certificates (窗口人员, 审批人员, 主管). */
const VERIFYING_ROLES = ['clerk', 'approver', 'supervisor'] as const;
export type VerifyingRole = (typeof VERIFYING_ROLES)[number];

/** Who verifies: a staff member (or machine client) of this node, as authentication proved it. */
export interface VerifyingStaff {
  readonly subject: string;
  readonly node: string;
  readonly role: VerifyingRole;
}

/**
 * The staff member a person is here: citizens verify nothing (CERTIFICATE_FORBIDDEN), staff of
 * another node act at their own node only (STAFF_OF_ANOTHER_NODE), and a data administrator or
 * operator takes no part in it (CERTIFICATE_FORBIDDEN).
 */
export function verifyingStaff(person: Person, self: string): VerifyingStaff {
  if (person.kind === 'citizen') throw new TongbanError('CERTIFICATE_FORBIDDEN', 'Staff of a node verify certificates; a holder presents theirs to them.');
  if (person.node !== self) throw new TongbanError('STAFF_OF_ANOTHER_NODE', `Staff of ${person.node ?? 'another node'} act at their own node only; this is ${self}.`);
  const role = VERIFYING_ROLES.find((r) => person.roles.includes(r));
  if (!role) throw new TongbanError('CERTIFICATE_FORBIDDEN', `Your roles at this node (${person.roles.join(', ') || 'none'}) do not verify certificates.`);
  return { subject: person.subject, node: self, role };
}

export interface Challenge {
  readonly nonce: string;
  /** What the holder's KB-JWT names as `aud`. */
  readonly audience: string;
  readonly expiresAt: string;
}

export interface VerificationRequest {
  readonly presentation: string;
  /** 用证事由: why the certificate is used, recorded with the verification. */
  readonly reason: string;
  /** A challenge of this node, required for a key-bound certificate. */
  readonly nonce?: string | undefined;
  /** When verified for a case: its id and item, recorded with the verification. */
  readonly caseId?: string;
  readonly itemCode?: string;
  /** A further check of the verified certificate (a case's holder and fields); a throw refuses it. */
  readonly check?: (certificate: VerifiedCertificate) => void;
}

export interface Verification {
  /** The id of this verification (its audit entry's requestId). */
  readonly id: string;
  readonly at: string;
  readonly certificate: VerifiedCertificate;
}

export interface VerifierContext {
  readonly self: string;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly auditKey: Uint8Array;
  readonly clock: () => Date;
  readonly trustList: TrustListSource;
  readonly statusLists: Pick<StatusListCache, 'statusOf'>;
}

/**
 * A node as a verifier of e-certificates: challenges for key binding, and verification of a
 * presentation against the hub's trust list and the issuer's status list. Every attempt is
 * audited (`certificate.verify`, allowed or refused with its code) with the staff member, the
 * reason for use and the NAMES of the fields disclosed — never a value: the node stores nothing
 * the holder disclosed (the answer shows it to the caller, and only a case it is evidence for keeps it).
 */
export class CertificateVerifier {
  readonly #ctx: VerifierContext;

  constructor(ctx: VerifierContext) {
    this.#ctx = ctx;
  }

  /** What a holder's KB-JWT must name as its audience here. */
  get audience(): string {
    return `urn:tongban:node:${this.#ctx.self}`;
  }

  /** A single-use nonce for a holder's key binding, valid CHALLENGE_SECONDS. */
  async challenge(staff: VerifyingStaff): Promise<Challenge> {
    const now = this.#ctx.clock();
    const nonce = randomBytes(24).toString('base64url');
    const expiresAt = now.getTime() + CHALLENGE_SECONDS * 1000;
    await this.#ctx.store.certificateChallenges.add({ nonce, requestedBy: staff.subject, createdAt: now.toISOString(), expiresAt });
    return { nonce, audience: this.audience, expiresAt: new Date(expiresAt).toISOString() };
  }

  async verify(staff: VerifyingStaff, request: VerificationRequest): Promise<Verification> {
    const id = randomUUID();
    const now = this.#ctx.clock();
    let certificate: VerifiedCertificate | undefined;
    try {
      // Used before anything else, so one challenge serves one attempt however it ends.
      if (request.nonce !== undefined && !(await this.#ctx.store.certificateChallenges.use(request.nonce, now.getTime()))) {
        throw new TongbanError('CERTIFICATE_KEY_BINDING_INVALID', 'The challenge is not one of this node, has been used or has expired: ask for a new one (tongban cert challenge).');
      }
      const trustList = await this.#ctx.trustList.current();
      certificate = await verifyPresentation(request.presentation, {
        trustList,
        now,
        statusOf: (uri, idx, issuer) => this.#ctx.statusLists.statusOf(uri, idx, issuer),
        audience: this.audience,
        ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
      });
      // A bound certificate proves its holder only to a challenge of this node (no replay of an old KB-JWT).
      if (certificate.keyBound && request.nonce === undefined) {
        throw new TongbanError('CERTIFICATE_KEY_BINDING_INVALID', 'The certificate is bound to its holder’s key: present it with a challenge of this node (tongban cert challenge, then present --nonce).');
      }
      request.check?.(certificate);
    } catch (error) {
      // Filed under the certificate and its holder only when the issuer's signature verified: a
      // refusal before that (a spent challenge, a forged presentation) names nobody.
      if (isTongbanError(error)) await this.#ctx.audit.append(this.#refusal(staff, request, id, error.code, certificate !== undefined || isRefusedAfterSignature(error)));
      throw error;
    }
    await this.#ctx.audit.append({
      ...this.#common(staff, request, id),
      outcome: 'allowed',
      provider: certificate.issuer,
      service: certificate.vct,
      subjectHash: this.#subject(certificate.metadata.id, certificate.disclosed.holderIdNumber),
      detail: {
        certificateId: certificate.metadata.id,
        fields: Object.keys(certificate.disclosed).join(','),
        withheld: certificate.withheld.join(','),
        keyBound: certificate.keyBound,
        reason: request.reason,
      },
    });
    return { id, at: now.toISOString(), certificate };
  }

  #common(staff: VerifyingStaff, request: VerificationRequest, id: string) {
    return {
      kind: 'certificate.verify',
      requestId: id,
      // 用证事由: the tracker shows it as the purpose (the audit column holds 100 characters; the detail all of it).
      purpose: request.reason.slice(0, 100),
      operator: staff.subject,
      actor: { subject: staff.subject, node: staff.node, role: staff.role },
      ...(request.caseId ? { caseId: request.caseId } : {}),
      ...(request.itemCode ? { itemCode: request.itemCode } : {}),
    } as const;
  }

  /**
   * A refused attempt. Once the issuer's signature has verified (the later codes), the certificate
   * is the issuer's: the entry names it and is filed for its holder. Before that nothing in the
   * presentation is trusted, so nothing of it is recorded or used as a subject.
   */
  #refusal(staff: VerifyingStaff, request: VerificationRequest, id: string, code: ErrorCode, signatureVerified: boolean): AuditEvent {
    const base = { ...this.#common(staff, request, id), outcome: 'refused' as const, code };
    if (!signatureVerified) return { ...base, detail: { reason: request.reason } };
    let decoded: ReturnType<typeof decodeCertificate>;
    try {
      decoded = decodeCertificate(request.presentation);
    } catch {
      return { ...base, detail: { reason: request.reason } };
    }
    const type = certificateTypeByVct(decoded.vct);
    return {
      ...base,
      provider: decoded.issuer,
      service: decoded.vct.slice(0, 100),
      subjectHash: this.#subject(decoded.metadata.id, decoded.disclosures.holderIdNumber),
      detail: {
        certificateId: decoded.metadata.id.slice(0, 200),
        fields: Object.keys(decoded.disclosures)
          .filter((name) => type?.fields.some((f) => f.name === name))
          .join(','),
        reason: request.reason,
      },
    };
  }

  /** The holder's keyed hash: their ID number's when disclosed, else the certificate's (the hub's tracker finds both). */
  #subject(certificateId: string, idNumber: string | undefined): string {
    return idNumber ? subjectHash(this.#ctx.auditKey, 'idNumber', idNumber.toUpperCase()) : certificateSubjectHash(this.#ctx.auditKey, certificateId);
  }
}

/**
 * The evidence a verified certificate gives a case of `item` for `applicantIdNumber`: the holder
 * must be the applicant (when the ID number is disclosed: CERTIFICATE_HOLDER_MISMATCH), and every
 * field of the certificate's type the item needs (by data element) must be disclosed
 * (CERTIFICATE_FIELD_NOT_DISCLOSED). The data is those fields, keyed by data element. Pure.
 */
export function certificateEvidenceData(certificate: Pick<VerifiedCertificate, 'vct' | 'disclosed'>, item: { readonly code: string; readonly dataElements: readonly string[] }, applicantIdNumber: string): Record<string, string> {
  const type = certificateTypeByVct(certificate.vct);
  if (!type) throw new TongbanError('CERTIFICATE_MALFORMED', `${certificate.vct} is not a certificate type of the catalogue.`);
  // Evidence must be the applicant's own: the certificate names its holder and that is the
  // applicant. An entity's certificate (营业执照) names an entity, which a case does not record yet:
  // it cannot be tied to the applicant, so it is not taken as evidence.
  if (type.holderCodeType !== '111') {
    throw new TongbanError('CERTIFICATE_HOLDER_MISMATCH', `A ${type.name} names an entity, not the applicant: cases do not record an entity to compare it with, so it is not taken as evidence.`);
  }
  const holder = certificate.disclosed.holderIdNumber;
  if (holder === undefined) {
    throw new TongbanError('CERTIFICATE_FIELD_NOT_DISCLOSED', `Evidence for a case must show whose it is: present the ${type.name} again disclosing holderIdNumber (持证人公民身份号码).`);
  }
  if (holder.toUpperCase() !== applicantIdNumber.toUpperCase()) {
    throw new TongbanError('CERTIFICATE_HOLDER_MISMATCH', `The ${type.name} presented is not the applicant's: its holder's ID number differs.`);
  }
  const needed = type.fields.filter((f) => item.dataElements.includes(f.dataElement ?? f.name));
  const missing = needed.filter((f) => certificate.disclosed[f.name] === undefined);
  if (missing.length > 0) {
    throw new TongbanError('CERTIFICATE_FIELD_NOT_DISCLOSED', `Item ${item.code} needs these fields of the ${type.name}, which the presentation withholds: ${missing.map((f) => `${f.name} (${f.label})`).join(', ')}. Present it again disclosing them.`);
  }
  return Object.fromEntries(needed.map((f) => [f.dataElement ?? f.name, certificate.disclosed[f.name]!]));
}
