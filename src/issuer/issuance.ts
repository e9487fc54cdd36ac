import { randomInt } from 'node:crypto';
import type { AuditActor, AuditEvent } from '../audit/index.ts';
import { subjectHash } from '../audit/index.ts';
import { cstDate, type Case } from '../cases/index.ts';
import { certificateIssuedMessage, certificateTypeForItem, issueCertificate, nodeUrn, type CertificateMetadata, type CertificateType, type TrustedIssuer } from '../certificates/index.ts';
import { TongbanError } from '../errors/index.ts';
import { buildLicenseId } from '../standards/index.ts';
import type { CertificateRecord, StoreOps } from '../store/index.ts';
import type { IssuerContext } from './context.ts';

/** What a case yields at this node: the certificate to issue, or why none is issued. */
export type IssuanceDecision =
  | { readonly kind: 'none' }
  | { readonly kind: 'not-issued'; readonly type: CertificateType; readonly reason: string }
  | { readonly kind: 'issue'; readonly plan: IssuancePlan };

export interface IssuancePlan {
  readonly type: CertificateType;
  /** This node's entry on the hub's trust list: its authority and credit code go into the metadata. */
  readonly entry: TrustedIssuer;
  /** The hub (the trust list's issuer), which keeps the certificate index. */
  readonly hub: string;
  readonly c: Case;
  readonly personal: Record<string, string>;
}

const SERIAL_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DAY_MS = 86_400_000;

/** The holder's fields: for a citizen's certificate, always the applicant's name and ID number. */
const HOLDER_FIELDS: Readonly<Record<string, (c: Case) => string>> = {
  holderName: (c) => c.applicant.name,
  holderIdNumber: (c) => c.applicant.idNumber,
};

/**
 * What a granted case yields at this node (pure but for the trust list): nothing when its item
 * maps to no certificate type; not issued, with the reason, when this node is not on the hub's
 * trust list for that type (or the list is unavailable); else the plan, with every personal field
 * found. Fields named in `given` must be the type's own (VALIDATION_FAILED); a required field
 * neither given nor in the case's evidence → CERTIFICATE_NOT_ISSUABLE naming it.
 */
export async function decideIssuance(ctx: IssuerContext, c: Case, given: Readonly<Record<string, string>> | undefined): Promise<IssuanceDecision> {
  const type = certificateTypeForItem(c.itemCode);
  if (!type) {
    if (given && Object.keys(given).length > 0) throw new TongbanError('VALIDATION_FAILED', `Item ${c.itemCode} yields no e-certificate: give no certificate fields.`);
    return { kind: 'none' };
  }
  const names = new Set(type.fields.map((f) => f.name));
  const unknown = Object.keys(given ?? {}).filter((name) => !names.has(name) || name in HOLDER_FIELDS);
  if (unknown.length > 0) {
    throw new TongbanError('VALIDATION_FAILED', `A ${type.name} has no field ${unknown.join(', ')} to give (fields: ${[...names].filter((n) => !(n in HOLDER_FIELDS)).join(', ')}; the holder's name and ID number are the applicant's).`);
  }
  const trusted = await trustEntry(ctx, type);
  if ('reason' in trusted) return { kind: 'not-issued', type, reason: trusted.reason };
  const personal: Record<string, string> = {};
  const missing: string[] = [];
  for (const field of type.fields) {
    const value = HOLDER_FIELDS[field.name]?.(c) ?? given?.[field.name] ?? fromEvidence(c, field.name, field.dataElement);
    if (value !== undefined && value.trim() !== '') personal[field.name] = value;
    else if (field.required) missing.push(`${field.label} (${field.name})`);
  }
  if (missing.length > 0) {
    throw new TongbanError('CERTIFICATE_NOT_ISSUABLE', `A ${type.name} needs ${missing.join(', ')}: give ${missing.length > 1 ? 'them' : 'it'} in certificateFields (at the terminal: --certificate-field name=value; the case's evidence has no such value).`);
  }
  return { kind: 'issue', plan: { type, entry: trusted.entry, hub: trusted.hub, c, personal } };
}

/**
 * The certificate a case's item yields, as a form asks for it at conclusion: its type and the
 * fields that can be given in certificateFields (not the holder's, which are the applicant's),
 * each with the value the case's evidence already has, if any. Undefined when the item yields none.
 */
export function certificateFormOf(c: Case): { vct: string; name: string; nameEn: string; fields: Array<{ name: string; label: string; required: boolean; value?: string }> } | undefined {
  const type = certificateTypeForItem(c.itemCode);
  if (!type) return undefined;
  const fields = type.fields
    .filter((f) => !(f.name in HOLDER_FIELDS))
    .map((f) => {
      const value = fromEvidence(c, f.name, f.dataElement);
      return { name: f.name, label: f.label, required: f.required, ...(value !== undefined ? { value } : {}) };
    });
  return { vct: type.vct, name: type.name, nameEn: type.nameEn, fields };
}

/** This node's trust-list entry for the type, with the key it signs with now; else why not. */
async function trustEntry(ctx: IssuerContext, type: CertificateType): Promise<{ entry: TrustedIssuer; hub: string } | { reason: string }> {
  const kid = ctx.signingKey.current().kid;
  for (let attempt = 0; ; attempt++) {
    let list;
    try {
      list = await ctx.trustList.current();
    } catch (error) {
      if (error instanceof TongbanError) return { reason: `the hub's trust list is unavailable (${error.code})` };
      throw error;
    }
    const entry = list.issuers.find((i) => i.division === ctx.self);
    if (!entry) return { reason: `${ctx.self} is not on the hub's trust list (version ${list.version})` };
    if (!entry.types.includes(type.vct)) return { reason: `${ctx.self} is not authorised to issue ${type.vct} (trust list version ${list.version})` };
    if (entry.keys.some((k) => k.kid === kid && k.retiredAt === undefined)) return { entry, hub: list.issuer };
    // A rotation approved since the list was fetched: look once more before giving up.
    if (attempt > 0) return { reason: `the trust list does not list ${kid}, the key ${ctx.self} signs with` };
    await ctx.trustList.refresh().catch(() => undefined);
  }
}

/**
 * The newest evidence value of a field, by its name or its data element; text and numbers only.
 * Evidence held for the applicant's preview (`pending`) or refused by them is not the case's to
 * use: a certificate never carries what the applicant has not let go.
 */
function fromEvidence(c: Case, name: string, dataElement: string | undefined): string | undefined {
  for (const entry of [...c.evidence].reverse()) {
    const data = entry.data;
    if (!data || entry.preview === 'pending' || entry.preview === 'refused') continue;
    for (const key of [name, dataElement]) {
      const value = key === undefined ? undefined : data[key];
      if (typeof value === 'string') return value;
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    }
  }
  return undefined;
}

/** The URI of one of this node's status lists: what certificates name and verifiers fetch. */
export function statusListUri(endpoint: string, listId: number): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/certificates/status-lists/${listId}`;
}

/** Raised inside the transaction when the case got its certificate meanwhile: everything rolls back. */
export class AlreadyIssued extends Error {}

/**
 * Issues the planned certificate in `tx`: the next free status index, GB/T 36903 metadata, the
 * SD-JWT VC signed with the node's key, the row, and the `certificate.issued` message to the hub's
 * index. Returns the record and the audit entry (`certificate.issue`) for the caller to append in
 * the same transaction. AlreadyIssued when the case has a certificate already.
 */
export async function issueIn(tx: StoreOps, ctx: IssuerContext, endpoint: string, plan: IssuancePlan, actor: AuditActor): Promise<{ record: CertificateRecord; event: AuditEvent }> {
  const { type, entry, c } = plan;
  const { listId, idx } = await tx.statusLists.allocate(ctx.statusListSize);
  const now = ctx.clock();
  const key = ctx.signingKey.current();
  const serial = Array.from({ length: 12 }, () => SERIAL_ALPHABET[randomInt(SERIAL_ALPHABET.length)]).join('');
  const issuedOn = cstDate(now);
  const metadata: CertificateMetadata = {
    id: buildLicenseId({ typeCode: type.typeCode, issuerCode: entry.authorityCode, serial, version: '001' }),
    number: serial,
    typeCode: type.typeCode,
    typeName: type.name,
    authority: entry.authority,
    authorityCode: entry.authorityCode,
    issuedOn,
    validFrom: issuedOn,
    // validUntil is the last valid day: validityDays days in all.
    validUntil: cstDate(Date.parse(`${issuedOn}T00:00:00+08:00`) + (type.validityDays - 1) * DAY_MS),
    division: ctx.self,
    holderCodeType: type.holderCodeType,
    relatedItem: c.itemCode,
    caseId: c.id,
  };
  const sdJwt = await issueCertificate({ key, issuer: ctx.self, type, metadata, personal: plan.personal, status: { uri: statusListUri(endpoint, listId), idx }, now });
  const subjectKey = subjectHash(ctx.auditKey, 'idNumber', c.applicant.idNumber);
  const record: CertificateRecord = {
    id: metadata.id,
    caseId: c.id,
    vct: type.vct,
    subjectKey,
    sdJwt,
    statusListId: listId,
    statusIdx: idx,
    status: 'valid',
    statusReason: null,
    statusChangedAt: null,
    boundThumbprint: null,
    issuedAt: now.toISOString(),
    expiresAt: new Date((Date.parse(`${metadata.validUntil}T00:00:00+08:00`) + DAY_MS)).toISOString(),
  };
  if (!(await tx.certificates.add(record))) throw new AlreadyIssued();
  await ctx.messages.send(tx, certificateIssuedMessage(plan.hub, { certificateId: record.id, vct: record.vct, holderIdNumber: c.applicant.idNumber, issuedAt: record.issuedAt, expiresAt: record.expiresAt, status: { list: record.statusListId, index: record.statusIdx } }));
  const event: AuditEvent = {
    kind: 'certificate.issue',
    outcome: 'allowed',
    caseId: c.id,
    itemCode: c.itemCode,
    actor,
    subjectHash: subjectKey,
    detail: { certificate: record.id, vct: record.vct, statusList: listId, statusIdx: idx, issuer: nodeUrn(ctx.self) },
  };
  return { record, event };
}
