import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Agreement, describeStanding, resolveTemplate, templateLibrary, type AgreementStanding } from '../../agreements/index.ts';
import { TongbanError, validationError } from '../../errors/index.ts';
import { printJson, printLines, printRecord, printTable } from '../output.ts';
import { callNode, locateNode, operatorTokenOf } from './locate.ts';

export interface NodeOptions {
  node: string;
  federation: string;
  json?: boolean;
}

/** One call to a node's operator API (the token is read from the node's folder). */
export async function operatorCall(options: NodeOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const config = locateNode(options.federation, options.node);
  return callNode(config, { method, path, token: operatorTokenOf(config), ...(body === undefined ? {} : { body }) });
}

export function readTerms(path: string): Agreement {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new TongbanError('VALIDATION_FAILED', `${path} cannot be read as JSON.`);
  }
  const parsed = Agreement.safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

interface RoundView {
  number: number;
  author: string;
  answers?: number;
  hash: string;
  at: string;
  changes: string[];
  terms: Agreement;
}
interface NegotiationView {
  id: string;
  agreementId: string;
  convener: string;
  state: string;
  agreementState?: AgreementStanding['state'];
  agreementStateChange?: AgreementStanding['change'];
  parties: string[];
  terms: Agreement;
  rounds: RoundView[];
  acceptances: Array<{ party: string; round: number }>;
  signatures: Array<{ party: string }>;
  template?: { id: string };
  changesFromTemplate?: string[];
  history: Array<{ action: string; from: string | null; to: string; node: string; at: string; round?: number; reason?: string; actor: { id: string; role: string } }>;
}

export function node(command: Command): Command {
  return command.requiredOption('--node <code>', 'the party node you act for (division code)').option('--federation <dir>', 'federation folder holding the node', 'var/demo').option('--json', 'print JSON');
}

/** A negotiation for people: its state, parties, rounds with their diffs, and what each party did. */
export function printNegotiation(n: NegotiationView, forwardedTo?: string): void {
  const latest = n.rounds.at(-1);
  const dutiesNote = n.template ? securityDutiesNote(n, n.template.id) : undefined;
  printRecord([
    ['negotiation', n.id],
    ['agreement', `${n.agreementId} v${n.terms.version}`],
    ['state', stateLine(n)],
    ['convener', n.convener],
    ['parties', n.parties.join(', ')],
    ['template', n.template?.id],
    ['latest round', latest ? `${latest.number} by ${latest.author} (${latest.hash.slice(0, 16)}…)` : 'none yet'],
    ['accepted by', latest ? n.acceptances.filter((a) => a.round === latest.number).map((a) => a.party).join(', ') || 'nobody' : undefined],
    ['signed by', n.signatures.map((s) => s.party).join(', ') || undefined],
    ['security duties', describeDuties(n.terms.securityDuties) ?? dutiesNote],
    ['service levels', describeLevels(n.terms.serviceLevels)],
    [
      'sent to',
      forwardedTo
        ? `${forwardedTo}, the convener, which applies the step or refuses it (a counter to a round no longer the latest is refused); the lines above are this node's copy before that: agreement show tells which`
        : undefined,
    ],
  ]);
  for (const r of n.rounds.slice(1)) {
    printLines(['', `round ${r.number} by ${r.author}, answering round ${r.answers ?? '-'}:`, ...r.changes.map((c) => `  ${c}`)]);
  }
  if (n.changesFromTemplate) printLines(['', `changes from template ${n.template!.id}:`, ...(n.changesFromTemplate.length ? n.changesFromTemplate.map((c) => `  ${c}`) : ['  (none)'])]);
}

/** "active (suspended by 522732 (operator) at …: reason)": an active negotiation with where its agreement stands now. */
export function stateLine(n: { state: string; agreementState?: AgreementStanding['state']; agreementStateChange?: AgreementStanding['change'] }): string {
  if (!n.agreementState || n.agreementState === 'active') return n.state;
  return `${n.state} (agreement ${describeStanding({ state: n.agreementState, ...(n.agreementStateChange ? { change: n.agreementStateChange } : {}) })})`;
}

async function act(options: NodeOptions & { negotiation: string; operator?: string }, action: string, extra: Record<string, unknown> = {}): Promise<void> {
  const answer = (await operatorCall(options, 'POST', `/v1/operator/agreements/drafts/${encodeURIComponent(options.negotiation)}/actions`, {
    action,
    ...(options.operator ? { operator: options.operator } : {}),
    ...extra,
  })) as { negotiation: NegotiationView; forwardedTo?: string };
  if (options.json) printJson(answer);
  else printNegotiation(answer.negotiation, answer.forwardedTo);
}

export const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new TongbanError('BAD_REQUEST', `${value} is not a round number.`);
  return n;
};

/**
 * `tongban agreement draft|propose|counter|accept|sign|register|abandon|diff|show|list|report`:
 * negotiation through the operator's own node (docs/agreements.md). `accept` and `sign` with
 * `--file` are the older whole-terms path (an agreement agreed outside a negotiation).
 */
export function negotiationCommands(agreement: Command): void {
  node(agreement.command('draft').description('draft an agreement from --file terms, or from --template for --partners; this node convenes'))
    .option('--file <path>', 'the terms (JSON agreement)')
    .option('--template <id>', 'instantiate this template (tongban template list)')
    .option('--partners <codes>', 'with --template: the other parties, comma-separated')
    .option('--items <codes>', 'with --template: a subset of its items, comma-separated')
    .option('--id <agreementId>', 'with --template: the agreement id')
    .option('--valid-from <iso>', 'with --template: start of validity (default now)')
    .option('--valid-until <iso>', 'with --template: end of validity (default in two years)')
    .option(contactOption[0], `with --template: ${contactOption[1]}`, collectContact)
    .option('--operator <id>', 'who drafts (recorded in the negotiation)')
    .action(async (o: NodeOptions & { file?: string; template?: string; partners?: string; items?: string; id?: string; validFrom?: string; validUntil?: string; contact?: Array<{ party: string; name: string; phone?: string }>; operator?: string }) => {
      if (!o.file === !o.template) throw new TongbanError('BAD_REQUEST', 'Give either --file or --template.');
      const body = o.file ? { terms: readTerms(o.file) } : { template: o.template, params: templateParams(o) };
      const n = (await operatorCall(o, 'POST', '/v1/operator/agreements/drafts', { ...body, ...(o.operator ? { operator: o.operator } : {}) })) as NegotiationView;
      if (o.json) printJson(n);
      else printNegotiation(n);
    });
  const step = (name: string, description: string) => node(agreement.command(name).description(description)).requiredOption('--negotiation <id>', 'the negotiation').option('--operator <id>', 'who acts');
  step('propose', 'put the draft on the table as round 1 (the convener)').action((o: NodeOptions & { negotiation: string; operator?: string }) => act(o, 'propose'));
  step('counter', 'answer the latest round with other terms (a new round); start from agreement show --terms')
    .requiredOption('--file <path>', 'the terms offered (the whole agreement as JSON: agreement show --terms prints the latest to edit)')
    .option('--answers <round>', 'the round answered (default: the latest this node knows)', positive)
    .action((o: NodeOptions & { negotiation: string; file: string; answers?: number }) => act(o, 'counter', { terms: readTerms(o.file), ...(o.answers ? { answers: o.answers } : {}) }));
  step('register', 'submit the agreement every party signed to the hub (the convener); it becomes active at once if validFrom has passed').action((o: NodeOptions & { negotiation: string }) => act(o, 'register'));
  step('abandon', 'walk away from the negotiation')
    .requiredOption('--reason <text>', 'why')
    .action((o: NodeOptions & { negotiation: string; reason: string }) => act(o, 'abandon', { reason: o.reason }));

  node(agreement.command('show').description('one negotiation: state, parties, every round’s diff; --terms prints the latest terms as JSON, to edit and offer with agreement counter --file'))
    .requiredOption('--negotiation <id>', 'the negotiation')
    .option('--terms', 'print only the latest terms (JSON, what agreement counter --file takes)')
    .action(async (o: NodeOptions & { negotiation: string; terms?: boolean }) => {
      const n = (await operatorCall(o, 'GET', `/v1/operator/agreements/drafts/${encodeURIComponent(o.negotiation)}`)) as NegotiationView;
      if (o.terms) printJson(n.terms);
      else if (o.json) printJson(n);
      else {
        printNegotiation(n);
        printLines(['']);
        printTable(['at', 'action', 'node', 'by', 'to', 'round', 'reason'], n.history.map((h) => [h.at, h.action, h.node, `${h.actor.role}:${h.actor.id}`, h.to, h.round ? String(h.round) : '', h.reason ?? '']));
      }
    });
  node(agreement.command('diff').description('what a round changed against the round it answers (default: the latest), or --template: against the template'))
    .requiredOption('--negotiation <id>', 'the negotiation')
    .option('--round <n>', 'the round', positive)
    .option('--template', 'the changes from the template the agreement came from')
    .action(async (o: NodeOptions & { negotiation: string; round?: number; template?: boolean }) => {
      const n = (await operatorCall(o, 'GET', `/v1/operator/agreements/drafts/${encodeURIComponent(o.negotiation)}`)) as NegotiationView;
      if (o.template && !n.changesFromTemplate) throw new TongbanError('BAD_REQUEST', `${n.id} did not start from a template.`);
      const round = o.round ? n.rounds.find((r) => r.number === o.round) : n.rounds.at(-1);
      if (!o.template && !round) throw new TongbanError('BAD_REQUEST', `${n.id} has no round ${o.round ?? ''}.`);
      const changes = o.template ? n.changesFromTemplate! : round!.changes;
      if (o.json) printJson({ negotiation: n.id, ...(o.template ? { template: n.template!.id } : { round: round!.number, answers: round!.answers ?? null }), changes });
      else printLines(changes.length ? changes : ['(no changes)']);
    });
  node(agreement.command('list').description('the negotiations this node takes part in')).action(async (o: NodeOptions) => {
    const rows = (await operatorCall(o, 'GET', '/v1/operator/agreements/drafts')) as Array<{
      id: string;
      agreementId: string;
      version: number;
      convener: string;
      state: string;
      agreementState?: AgreementStanding['state'];
      agreementStateChange?: AgreementStanding['change'];
      rounds: number;
      template: string | null;
    }>;
    if (o.json) printJson(rows);
    else printTable(['negotiation', 'agreement', 'version', 'convener', 'state', 'rounds', 'template'], rows.map((r) => [r.id, r.agreementId, String(r.version), r.convener, stateLine(r), String(r.rounds), r.template ?? '']));
  });
  node(agreement.command('report').description('the learning metric: rounds and time to active, from templates against from scratch')).action(async (o: NodeOptions) => {
    type Group = { agreements: number; active: number; meanRounds: number | null; medianRounds: number | null; medianHoursToActive: number | null };
    const r = (await operatorCall(o, 'GET', '/v1/operator/agreements/report')) as {
      records: Array<{ negotiation: string; agreementId: string; origin: string; template?: string; state: string; rounds: number; hoursToActive?: number }>;
      fromTemplate: Group;
      fromScratch: Group;
    };
    if (o.json) return printJson(r);
    const show = (x: number | null) => (x === null ? '-' : String(x));
    printTable(['origin', 'agreements', 'active', 'mean rounds', 'median rounds', 'median hours to active'], [
      ['template', String(r.fromTemplate.agreements), String(r.fromTemplate.active), show(r.fromTemplate.meanRounds), show(r.fromTemplate.medianRounds), show(r.fromTemplate.medianHoursToActive)],
      ['scratch', String(r.fromScratch.agreements), String(r.fromScratch.active), show(r.fromScratch.meanRounds), show(r.fromScratch.medianRounds), show(r.fromScratch.medianHoursToActive)],
    ]);
    printLines(['']);
    printTable(['negotiation', 'agreement', 'origin', 'state', 'rounds', 'hours to active'], r.records.map((x) => [x.negotiation, x.agreementId, x.template ?? x.origin, x.state, String(x.rounds), x.hoursToActive === undefined ? '' : String(x.hoursToActive)]));
  });
}

/** "incident notice within 24 h, received data kept 1095 days, encryption required" rather than raw JSON. */
export function describeDuties(d: { incidentNotificationHours?: number; retentionDays?: number; encryptionRequired?: boolean; contacts?: Array<{ party: string; name: string }> } | undefined, contactsNote?: string): string | undefined {
  if (!d) return undefined;
  const parts = [
    d.incidentNotificationHours === undefined ? undefined : `incident notice within ${d.incidentNotificationHours} h`,
    d.retentionDays === undefined ? undefined : `received data kept ${d.retentionDays} days`,
    d.encryptionRequired === undefined ? undefined : d.encryptionRequired ? 'encryption required' : 'encryption not required',
    d.contacts ? `contacts ${d.contacts.map((c) => `${c.party} ${c.name}`).join(', ')}` : contactsNote,
  ].filter((p) => p !== undefined);
  return parts.length ? parts.join(', ') : undefined;
}

export function describeLevels(l: { availabilityPercent?: number; responseSeconds?: number } | undefined): string | undefined {
  if (!l) return undefined;
  const parts = [l.availabilityPercent === undefined ? undefined : `${l.availabilityPercent} % available`, l.responseSeconds === undefined ? undefined : `answers within ${l.responseSeconds} s`].filter((p) => p !== undefined);
  return parts.length ? parts.join(', ') : undefined;
}

/** `--contact <party>:<name>[:<phone>]`, repeatable: the security contacts a template's duties need. */
export function collectContact(value: string, previous: Array<{ party: string; name: string; phone?: string }> = []): Array<{ party: string; name: string; phone?: string }> {
  const [party = '', name = '', ...phone] = value.split(':').map((x) => x.trim());
  if (!/^\d{6}$/.test(party) || !name) throw new TongbanError('BAD_REQUEST', `--contact ${value}: write <party>:<name>[:<phone>], e.g. 522732:王工:0854-3921234.`);
  return [...previous, { party, name, ...(phone.length ? { phone: phone.join(':') } : {}) }];
}

/** The option that supplies the contacts, for `template instantiate` and `agreement draft --template`. */
export const contactOption = ['--contact <party:name[:phone]>', 'a security contact of a party (repeat for each party); without contacts the template’s security duties are left out'] as const;

/** A note for people when the template's security duties could not be instantiated (no contacts given). */
export function securityDutiesNote(n: { terms: Agreement; state: string }, templateId: string): string | undefined {
  if (n.terms.securityDuties) return undefined;
  const t = resolveTemplate(templateId, templateLibrary);
  if (!t.securityDuties || Object.keys(t.securityDuties).length === 0) return undefined;
  if (n.state !== 'draft' && n.state !== 'proposed' && n.state !== 'countered') return "none: the template's were left out (no security contacts were given)";
  return `none: the template's need a contact per party (template instantiate … --contact <party>:<name>[:<phone>] for each), or offer securityDuties in a counter`;
}

/** Template parameters from the command line. */
export function templateParams(o: { node: string; partners?: string; items?: string; id?: string; validFrom?: string; validUntil?: string; contact?: Array<{ party: string; name: string; phone?: string }> }): Record<string, unknown> {
  const partners = (o.partners ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  if (partners.length === 0) throw new TongbanError('BAD_REQUEST', 'Give the partners with --partners <code,…>.');
  const from = o.validFrom ?? new Date().toISOString();
  return {
    id: o.id ?? `AGR-${o.node}-${partners.join('-')}-001`,
    convener: o.node,
    partners,
    ...(o.items ? { items: o.items.split(',').map((i) => i.trim()) } : {}),
    ...(o.contact?.length ? { contacts: o.contact } : {}),
    validFrom: from,
    validUntil: o.validUntil ?? new Date(Date.parse(from) + 2 * 365 * 86_400_000).toISOString(),
  };
}
