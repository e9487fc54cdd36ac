import type { Command } from 'commander';
import { TongbanError } from '../../errors/index.ts';
import type { ConsentView } from '../../identity/consent/index.ts';
import { printJson, printLines, printRecord, printTable } from '../output.ts';
import { callHub, hubTokenFor, hubUrlOf } from './hub-call.ts';

interface HubOptions {
  hub?: string;
  token?: string;
  federation: string;
  json?: boolean;
}

interface GrantOptions extends HubOptions {
  requester: string;
  provider: string;
  agreement: string;
  item: string;
  service?: string;
  purpose: string;
  fields: string;
  until?: string;
  single?: boolean;
}

/** How long a single-use consent stays valid when no --until is given. */
const SINGLE_DEFAULT_DAYS = 7;
const DAY_MS = 86_400_000;

/** The common options: which hub, whose sign-in, JSON or a table. */
function hubOptions(command: Command): Command {
  return command
    .option('--hub <url>', "the hub's URL (default: the hub of the federation folder)")
    .option('--token <token>', 'your hub access token (or TONGBAN_TOKEN; default: your sign-in of tongban login)')
    .option('--federation <dir>', 'federation folder (to find the hub when --hub is not given)', 'var/demo')
    .option('--json', 'print JSON');
}

/**
 * `tongban consent`: a citizen signed in at the hub (`tongban login`) grants, lists and revokes
 * their own consents there (docs/consent.md). The hub decides who calls from the access token
 * alone: staff and machine clients are refused (exit 1).
 */
export function consentCommand(program: Command): void {
  const consent = program.command('consent').description('a citizen: the consents you give at the hub for data about you to go from one node to another (sign in at the hub first)');

  hubOptions(
    consent
      .command('grant')
      .description('consent that a node receives some of your data from another node, under an agreement whose grant requires consent; prints the consent id to give the requesting node')
      .requiredOption('--requester <division>', 'the node that may ask, e.g. 330523')
      .requiredOption('--provider <division>', 'the node that may answer, e.g. 522732')
      .requiredOption('--agreement <id>', 'the agreement, e.g. AGR-522732-330523-001')
      .requiredOption('--item <code>', 'the item of the agreement, e.g. N037')
      .requiredOption('--purpose <purpose>', 'the purpose as the agreement names it, e.g. 婚姻登记')
      .requiredOption('--fields <list>', 'comma-separated data elements you consent to, e.g. maritalStatus,spouseName')
      .option('--service <service>', 'the service (needed only when the item grants several), e.g. marriage.status')
      .option('--until <date>', 'valid until this date (YYYY-MM-DD: the end of that day, Beijing time) or instant (ISO 8601); as often as needed until then')
      .option('--single', `served once only (valid ${SINGLE_DEFAULT_DAYS} days, or until --until)`),
  ).action(async (options: GrantOptions) => {
    if (!options.until && !options.single) throw new TongbanError('VALIDATION_FAILED', 'Say how long the consent lasts: --until <date> (as often as needed until then) or --single (once).');
    const fields = options.fields.split(',').map((f) => f.trim()).filter(Boolean);
    if (fields.length === 0) throw new TongbanError('VALIDATION_FAILED', '--fields names no data element.');
    const expiresAt = options.until ? untilInstant(options.until) : new Date(Date.now() + SINGLE_DEFAULT_DAYS * DAY_MS).toISOString();
    const body = {
      requester: options.requester,
      provider: options.provider,
      agreementId: options.agreement,
      itemCode: options.item,
      ...(options.service ? { service: options.service } : {}),
      purpose: options.purpose,
      fields,
      expiresAt,
      use: options.single ? 'single' : 'until-expiry',
    };
    const hub = hubUrlOf(options);
    const view = (await callHub(hub, await hubTokenFor(hub, options.token), 'POST', '/v1/consents', body)) as unknown as ConsentView;
    if (options.json) return printJson(view);
    printRecord(record(view));
    printLines(['', `Give the requesting node (${view.requester}) the consent id; it attaches it with --consent ${view.id}.`]);
  });

  hubOptions(
    consent
      .command('list')
      .description('your consents, newest first: status (active, used, revoked, expired) and how often the provider used each')
      .option('--limit <n>', 'how many (1–200)', '50')
      .option('--offset <n>', 'skip this many', '0'),
  ).action(async (options: HubOptions & { limit: string; offset: string }) => {
    const limit = Number(options.limit);
    const offset = Number(options.offset);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new TongbanError('VALIDATION_FAILED', '--limit must be a whole number from 1 to 200.');
    if (!Number.isInteger(offset) || offset < 0) throw new TongbanError('VALIDATION_FAILED', '--offset must be a whole number, 0 or more.');
    const hub = hubUrlOf(options);
    const answer = (await callHub(hub, await hubTokenFor(hub, options.token), 'GET', `/v1/consents?limit=${limit}&offset=${offset}`)) as unknown as { consents: ConsentView[]; total: number };
    if (options.json) return printJson(answer);
    printTable(
      ['id', 'status', 'uses', 'requester', 'provider', 'agreement', 'item', 'purpose', 'fields', 'use', 'until'],
      answer.consents.map((c) => [c.id, c.status, String(c.useCount), c.requester, c.provider, c.agreementId, c.itemCode, c.purpose, c.fields.join(','), c.use, instant(c.expiresAt)]),
      '(you have given no consent)',
    );
    if (answer.total > offset + answer.consents.length) printLines([`more: tongban consent list --offset ${offset + answer.consents.length}`]);
  });

  hubOptions(consent.command('revoke').description('revoke one of your consents: the provider refuses its next use').argument('<id>', 'the consent id (tongban consent list)')).action(
    async (id: string, options: HubOptions) => {
      const hub = hubUrlOf(options);
      const view = (await callHub(hub, await hubTokenFor(hub, options.token), 'POST', `/v1/consents/${encodeURIComponent(id)}/revoke`, {})) as unknown as ConsentView;
      if (options.json) return printJson(view);
      printRecord(record(view));
    },
  );
}

function record(c: ConsentView): Array<[string, string | undefined]> {
  return [
    ['consent', c.id],
    ['status', c.status],
    ['requester', c.requester],
    ['provider', c.provider],
    ['agreement', `${c.agreementId} item ${c.itemCode}`],
    ['service', c.service],
    ['purpose', c.purpose],
    ['fields', c.fields.join(', ')],
    ['use', c.use === 'single' ? 'single (served once)' : 'until expiry (as often as needed)'],
    ['valid', `${instant(c.notBefore)} – ${instant(c.expiresAt)}`],
    ['uses', `${c.useCount}${c.lastUsedAt ? ` (last ${instant(c.lastUsedAt)})` : ''}`],
    ['revoked at', c.revokedAt ? instant(c.revokedAt) : undefined],
  ];
}

const instant = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

/** `--until`: a date is the end of that day in Beijing time (UTC+8); an instant is taken as it is. */
export function untilInstant(value: string): string {
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T23:59:59+08:00` : value;
  const at = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at)) throw new TongbanError('VALIDATION_FAILED', `--until "${value}" is neither a date (YYYY-MM-DD) nor an instant (ISO 8601).`);
  return new Date(at).toISOString();
}
