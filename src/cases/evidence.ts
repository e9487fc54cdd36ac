import type { Evidence } from './model.ts';

/** The grant look-up of the policy index (PolicyIndex.findGrant), narrowed to what is used here. */
export type FindGrant = (
  query: { requester: string; provider: string; service: string; itemCode: string },
  now: Date,
) => { grant: { fields: readonly string[]; purposes: readonly string[] } } | undefined;

/**
 * The evidence a destination may hold in its copy of a case. Evidence fetched under one agreement
 * is not the other participants' to read: a node receives an entry's data only where an agreement
 * between it and the provider grants it that service for the case's item (and, when the entry
 * records its purpose, for that purpose), with the fields that grant allows. Otherwise it gets a
 * reference (provider, service, request, time, no data) to fetch under an agreement of its own.
 * The provider's own data always goes back to it whole, and so does what the applicant disclosed
 * in a certificate they presented for the case. Evidence held for the applicant's preview
 * (`pending`) or refused by them goes to nobody: a reference at most. Pure.
 */
export function evidenceFor(destination: string, entries: readonly Evidence[], itemCode: string, findGrant: FindGrant, now: Date): Evidence[] {
  return entries.map((entry) => {
    if (entry.preview === 'pending' || entry.preview === 'refused') {
      const reference = { ...entry };
      delete reference.data;
      return reference;
    }
    if (!entry.data || entry.provider === destination) return entry;
    // A presented certificate: the holder disclosed these fields for this case, to its nodes.
    if (entry.certificate) return entry;
    const found = findGrant({ requester: destination, provider: entry.provider, service: entry.service, itemCode }, now);
    const { data, ...reference } = entry;
    if (!found || (entry.purpose !== undefined && !found.grant.purposes.includes(entry.purpose))) return reference;
    const allowed = new Set(found.grant.fields);
    return { ...reference, data: Object.fromEntries(Object.entries(data).filter(([field]) => allowed.has(field))) };
  });
}

/**
 * Whether evidence for an item is held for the applicant's preview before it goes to the deciding
 * node: when the national or local catalogue marks the item so, or the agreement the evidence is
 * fetched under marks its item so (either side can ask for it; neither can take it away). Pure.
 */
export function previewRequired(catalogItem: { readonly preview?: boolean | undefined } | undefined, agreementItem: { readonly preview?: boolean | undefined } | undefined): boolean {
  return catalogItem?.preview === true || agreementItem?.preview === true;
}
