import type { Agreement, Grant } from './model.ts';

/**
 * Where each agreement's lifecycle stands at this node (suspended, terminated; active when it
 * knows of no change). Kept apart from the compiled agreements: a state change takes effect at
 * the next decision, without waiting for a new directory snapshot to be compiled.
 */
export interface AgreementStateSource {
  stateOf(agreementId: string): 'active' | 'suspended' | 'terminated';
  /** The party whose suspension is in force, if known (read only to word a refusal; a map look-up, no I/O). */
  suspendedBy?(agreementId: string): string | null;
  /**
   * Takes the changes another replica of this node recorded (several processes on one
   * database); awaited before a decision, so a state another replica stored is in force here too.
   */
  refresh?(): Promise<void>;
}

/** What a provider is asked for, as far as the agreement is concerned. */
export interface AccessRequest {
  readonly agreementId: string;
  readonly requester: string;
  readonly provider: string;
  readonly itemCode: string;
  readonly service: string;
  readonly fields: readonly string[];
  readonly purpose: string;
  readonly hasConsent: boolean;
}

export type DenialCode =
  | 'AGREEMENT_NOT_FOUND'
  | 'AGREEMENT_NOT_IN_FORCE'
  | 'AGREEMENT_EXPIRED'
  | 'AGREEMENT_SUSPENDED'
  | 'AGREEMENT_TERMINATED'
  | 'NOT_A_PARTY'
  | 'ITEM_NOT_IN_AGREEMENT'
  | 'SERVICE_NOT_IN_AGREEMENT'
  | 'FIELD_NOT_ALLOWED'
  | 'PURPOSE_NOT_ALLOWED'
  | 'CONSENT_REQUIRED';

export type Decision =
  | { readonly allowed: true; readonly grant: Grant; readonly agreement: Agreement; readonly fields: readonly string[] }
  | { readonly allowed: false; readonly code: DenialCode; readonly reason: string };

interface CompiledAgreement {
  readonly agreement: Agreement;
  readonly validFrom: number;
  readonly validUntil: number;
  readonly items: ReadonlySet<string>;
  /** `${requester}|${provider}|${item}|${service}` → grant, with fields and purposes as sets. */
  readonly grants: ReadonlyMap<string, { grant: Grant; fields: ReadonlySet<string>; purposes: ReadonlySet<string> }>;
}

/**
 * Registered agreements compiled for look-up: a decision costs a few map look-ups and a
 * set check per requested field, however many agreements there are.
 */
export class PolicyIndex {
  readonly #byId = new Map<string, CompiledAgreement>();

  constructor(agreements: Iterable<Agreement> = []) {
    for (const agreement of agreements) this.add(agreement);
  }

  get size(): number {
    return this.#byId.size;
  }

  /** Adds or replaces an agreement (a newer version replaces an older one). */
  add(agreement: Agreement): void {
    const existing = this.#byId.get(agreement.id);
    if (existing && existing.agreement.version > agreement.version) return;
    const grants = new Map<string, { grant: Grant; fields: ReadonlySet<string>; purposes: ReadonlySet<string> }>();
    for (const item of agreement.items) {
      for (const grant of item.grants) {
        for (const requester of grant.requesters) {
          grants.set(key(requester, grant.provider, item.itemCode, grant.service), {
            grant,
            fields: new Set(grant.fields),
            purposes: new Set(grant.purposes),
          });
        }
      }
    }
    this.#byId.set(agreement.id, {
      agreement,
      validFrom: Date.parse(agreement.validFrom),
      validUntil: Date.parse(agreement.validUntil),
      items: new Set(agreement.items.map((i) => i.itemCode)),
      grants,
    });
  }

  get(agreementId: string): Agreement | undefined {
    return this.#byId.get(agreementId)?.agreement;
  }

  /**
   * The first agreement in force that grants `requester` the service of `provider` (for the
   * item, and in the agreement, when named): what a caller may ask for when it names no
   * agreement. Only agreements this index holds count, so a rejected one is never found.
   */
  findGrant(
    query: { requester: string; provider: string; service: string; itemCode?: string | undefined; agreementId?: string | undefined },
    now: Date,
    states?: AgreementStateSource,
  ): { agreement: Agreement; itemCode: string; grant: Grant } | undefined {
    const t = now.getTime();
    for (const compiled of this.#byId.values()) {
      if (query.agreementId && compiled.agreement.id !== query.agreementId) continue;
      if (t < compiled.validFrom || t >= compiled.validUntil) continue;
      if (states && states.stateOf(compiled.agreement.id) !== 'active') continue;
      for (const item of compiled.agreement.items) {
        if (query.itemCode && item.itemCode !== query.itemCode) continue;
        const grant = item.grants.find((g) => g.provider === query.provider && g.service === query.service && g.requesters.includes(query.requester));
        if (grant) return { agreement: compiled.agreement, itemCode: item.itemCode, grant };
      }
    }
    return undefined;
  }

  /** `states`: the lifecycle of each agreement at this node; a suspended or terminated agreement grants nothing. */
  decide(request: AccessRequest, now: Date, states?: AgreementStateSource): Decision {
    const compiled = this.#byId.get(request.agreementId);
    if (!compiled) return deny('AGREEMENT_NOT_FOUND', `No registered agreement ${request.agreementId}.`);
    const t = now.getTime();
    const state = states?.stateOf(request.agreementId) ?? 'active';
    if (state === 'terminated') return deny('AGREEMENT_TERMINATED', `Agreement ${request.agreementId} has been terminated by a party.`);
    if (t >= compiled.validUntil) return deny('AGREEMENT_EXPIRED', `Agreement ${request.agreementId} expired at ${compiled.agreement.validUntil}.`);
    if (state === 'suspended') return deny('AGREEMENT_SUSPENDED', suspendedMessage(request.agreementId, states?.suspendedBy?.(request.agreementId) ?? null));
    if (t < compiled.validFrom) {
      return deny('AGREEMENT_NOT_IN_FORCE', `Agreement ${request.agreementId} is valid from ${compiled.agreement.validFrom} to ${compiled.agreement.validUntil}.`);
    }
    const parties = compiled.agreement.parties;
    if (!parties.includes(request.requester) || !parties.includes(request.provider)) {
      return deny('NOT_A_PARTY', `Agreement ${request.agreementId} is not between ${request.requester} and ${request.provider}.`);
    }
    if (!compiled.items.has(request.itemCode)) {
      return deny('ITEM_NOT_IN_AGREEMENT', `Item ${request.itemCode} is not in agreement ${request.agreementId}.`);
    }
    const entry = compiled.grants.get(key(request.requester, request.provider, request.itemCode, request.service));
    if (!entry) {
      return deny(
        'SERVICE_NOT_IN_AGREEMENT',
        `Agreement ${request.agreementId} does not grant ${request.requester} the service ${request.service} of ${request.provider} for item ${request.itemCode}.`,
      );
    }
    const refused = request.fields.filter((f) => !entry.fields.has(f));
    if (refused.length > 0) {
      return deny('FIELD_NOT_ALLOWED', `The agreement does not allow the field(s) ${refused.join(', ')}.`);
    }
    if (!entry.purposes.has(request.purpose)) {
      return deny('PURPOSE_NOT_ALLOWED', `The purpose "${request.purpose}" is not allowed for this service under the agreement.`);
    }
    if (entry.grant.consentRequired && !request.hasConsent) {
      return deny('CONSENT_REQUIRED', "The agreement requires the citizen's consent for this service.");
    }
    const fields = request.fields.length > 0 ? request.fields : entry.grant.fields;
    return { allowed: true, grant: entry.grant, agreement: compiled.agreement, fields };
  }
}

/** Names the suspending party when known: only it can resume (agreementLifecycleActions). */
export function suspendedMessage(agreementId: string, by: string | null): string {
  return by ? `Agreement ${agreementId} is suspended by ${by}; only ${by} can resume it.` : `Agreement ${agreementId} is suspended by a party; only that party can resume it.`;
}

function key(requester: string, provider: string, item: string, service: string): string {
  return `${requester}|${provider}|${item}|${service}`;
}

function deny(code: DenialCode, reason: string): Decision {
  return { allowed: false, code, reason };
}
