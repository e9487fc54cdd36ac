import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Agreement } from '../../agreements/index.ts';
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
  printRecord([
    ['negotiation', n.id],
    ['agreement', `${n.agreementId} v${n.terms.version}`],
    ['state', n.state],
    ['convener', n.convener],
    ['parties', n.parties.join(', ')],
    ['template', n.template?.id],
    ['latest round', latest ? `${latest.number} by ${latest.author} (${latest.hash.slice(0, 16)}…)` : 'none yet'],
    ['accepted by', latest ? n.acceptances.filter((a) => a.round === latest.number).map((a) => a.party).join(', ') || 'nobody' : undefined],
    ['signed by', n.signatures.map((s) => s.party).join(', ') || undefined],
    ['sent to', forwardedTo ? `${forwardedTo} (the convener sequences the step)` : undefined],
  ]);
  for (const r of n.rounds.slice(1)) {
    printLines(['', `round ${r.number} by ${r.author}, answering round ${r.answers ?? '-'}:`, ...r.changes.map((c) => `  ${c}`)]);
  }
  if (n.changesFromTemplate) printLines(['', `changes from template ${n.template!.id}:`, ...(n.changesFromTemplate.length ? n.changesFromTemplate.map((c) => `  ${c}`) : ['  (none)'])]);
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

const positive = (value: string) => {
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
    .option('--operator <id>', 'who drafts (recorded in the negotiation)')
    .action(async (o: NodeOptions & { file?: string; template?: string; partners?: string; items?: string; id?: string; validFrom?: string; validUntil?: string; operator?: string }) => {
      if (!o.file === !o.template) throw new TongbanError('BAD_REQUEST', 'Give either --file or --template.');
      const body = o.file ? { terms: readTerms(o.file) } : { template: o.template, params: templateParams(o) };
      const n = (await operatorCall(o, 'POST', '/v1/operator/agreements/drafts', { ...body, ...(o.operator ? { operator: o.operator } : {}) })) as NegotiationView;
      if (o.json) printJson(n);
      else printNegotiation(n);
    });
  const step = (name: string, description: string) => node(agreement.command(name).description(description)).requiredOption('--negotiation <id>', 'the negotiation').option('--operator <id>', 'who acts');
  step('propose', 'put the draft on the table as round 1 (the convener)').action((o: NodeOptions & { negotiation: string; operator?: string }) => act(o, 'propose'));
  step('counter', 'answer the latest round with other terms (a new round)')
    .requiredOption('--file <path>', 'the terms offered')
    .option('--answers <round>', 'the round answered (default: the latest this node knows)', positive)
    .action((o: NodeOptions & { negotiation: string; file: string; answers?: number }) => act(o, 'counter', { terms: readTerms(o.file), ...(o.answers ? { answers: o.answers } : {}) }));
  step('register', 'submit the agreement every party signed to the hub (the convener); it becomes active').action((o: NodeOptions & { negotiation: string }) => act(o, 'register'));
  step('abandon', 'walk away from the negotiation')
    .requiredOption('--reason <text>', 'why')
    .action((o: NodeOptions & { negotiation: string; reason: string }) => act(o, 'abandon', { reason: o.reason }));

  node(agreement.command('show').description('one negotiation: state, parties, every round’s diff'))
    .requiredOption('--negotiation <id>', 'the negotiation')
    .action(async (o: NodeOptions & { negotiation: string }) => {
      const n = (await operatorCall(o, 'GET', `/v1/operator/agreements/drafts/${encodeURIComponent(o.negotiation)}`)) as NegotiationView;
      if (o.json) printJson(n);
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
    const rows = (await operatorCall(o, 'GET', '/v1/operator/agreements/drafts')) as Array<{ id: string; agreementId: string; version: number; convener: string; state: string; rounds: number; template: string | null }>;
    if (o.json) printJson(rows);
    else printTable(['negotiation', 'agreement', 'version', 'convener', 'state', 'rounds', 'template'], rows.map((r) => [r.id, r.agreementId, String(r.version), r.convener, r.state, String(r.rounds), r.template ?? '']));
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

/** Template parameters from the command line. */
export function templateParams(o: { node: string; partners?: string; items?: string; id?: string; validFrom?: string; validUntil?: string }): Record<string, unknown> {
  const partners = (o.partners ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  if (partners.length === 0) throw new TongbanError('BAD_REQUEST', 'Give the partners with --partners <code,…>.');
  const from = o.validFrom ?? new Date().toISOString();
  return {
    id: o.id ?? `AGR-${o.node}-${partners.join('-')}-001`,
    convener: o.node,
    partners,
    ...(o.items ? { items: o.items.split(',').map((i) => i.trim()) } : {}),
    validFrom: from,
    validUntil: o.validUntil ?? new Date(Date.parse(from) + 2 * 365 * 86_400_000).toISOString(),
  };
}
