import type { DirectoryView } from '../directory/snapshot.ts';

/** A node a citizen can name (competent node of an application): division and name, from the directory. */
export interface NodeOption {
  readonly division: string;
  readonly name: string;
}

/** A grant that asks for the citizen's consent, as an agreement in force has it: what a consent form offers. */
export interface ConsentOption {
  readonly agreementId: string;
  readonly itemCode: string;
  readonly provider: string;
  readonly providerName: string;
  readonly requester: string;
  readonly requesterName: string;
  readonly service: string;
  readonly fields: string[];
  readonly purposes: string[];
}

/** The approved nodes of the directory (the hub left out: it decides no case), by division. */
export function nodeOptions(view: DirectoryView): NodeOption[] {
  return view.snapshot.nodes
    .filter((n) => n.role === 'node' && view.node(n.division))
    .map((n) => ({ division: n.division, name: n.name }))
    .sort((a, b) => a.division.localeCompare(b.division));
}

/**
 * Every grant of the agreements in force (as this node's directory holds them) that requires the
 * citizen's consent, one option per requester: the terms a consent may name — never more.
 */
export function consentOptions(view: DirectoryView): ConsentOption[] {
  const name = (division: string) => view.node(division)?.name ?? division;
  const options: ConsentOption[] = [];
  for (const { agreement } of view.agreements) {
    for (const item of agreement.items) {
      for (const grant of item.grants) {
        if (!grant.consentRequired) continue;
        for (const requester of grant.requesters) {
          options.push({ agreementId: agreement.id, itemCode: item.itemCode, provider: grant.provider, providerName: name(grant.provider), requester, requesterName: name(requester), service: grant.service, fields: [...grant.fields], purposes: [...grant.purposes] });
        }
      }
    }
  }
  return options;
}

/** The items an agreement in force marks for preview: evidence fetched for their cases waits for the applicant's release. */
export function previewItems(view: DirectoryView): string[] {
  const codes = new Set<string>();
  for (const { agreement } of view.agreements) for (const item of agreement.items) if (item.preview) codes.add(item.itemCode);
  return [...codes].sort();
}
