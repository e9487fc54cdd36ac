import { Option, type Command } from 'commander';
import { caseActions, caseActionNames, caseStates, staffCaseActionNames, type CaseAction, type StaffCaseAction } from '../../cases/index.ts';
import { handlingModes } from '../../catalog/index.ts';
import { TongbanError } from '../../errors/index.ts';
import { currentLogin, TokenFile, tokenFilePath } from '../login/index.ts';
import { formatRecord, printJson, printLines, printRecord, printTable, Refusal } from '../output.ts';
import { callNode, locateNode } from './locate.ts';

export interface Common {
  node: string;
  token?: string;
  federation: string;
  json?: boolean;
}

/** One call to the node of `--node` with the caller's token (--token, TONGBAN_TOKEN or their sign-in at that node's hub). */
export async function call(options: Common, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const config = locateNode(options.federation, options.node);
  const token = options.token || process.env.TONGBAN_TOKEN || (await signedInToken(config.hub?.url));
  if (!token) throw new TongbanError('UNAUTHORIZED', "Sign in at the hub with tongban login, or give a token with --token or TONGBAN_TOKEN (a hub access token, or a machine client's: tongban account add prints it).");
  return callNode(config, { method, path, token, ...(body === undefined ? {} : { body }) });
}

/** The access token of your `tongban login` at the node's hub (renewed when expired), if you signed in there. */
async function signedInToken(hub: string | undefined): Promise<string | undefined> {
  if (!hub) return undefined;
  const file = new TokenFile(tokenFilePath());
  if (!file.get(hub)) return undefined;
  return (await currentLogin(file, hub, () => new Date())).login.accessToken;
}

const list = (value: string) => value.split(',').map((v) => v.trim()).filter(Boolean);

/** `name=value` pairs (a repeated option) as a record; VALIDATION_FAILED for one without a name. */
export function namedValues(pairs: readonly string[], option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new TongbanError('VALIDATION_FAILED', `${option} "${pair}" is not name=value.`);
    out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return out;
}

/** The options every command at a node takes: --node, --token, --federation, --json. */
export function common(command: Command): Command {
  return command
    .requiredOption('--node <code>', 'the node you work at (division code)')
    .option('--token <token>', "a hub access token or a machine client's token, sent as it is (or TONGBAN_TOKEN; default: your sign-in of tongban login)")
    .option('--federation <dir>', 'federation folder', 'var/demo')
    .option('--json', 'print JSON');
}

interface CaseJson {
  case: {
    id: string;
    state: string;
    itemCode: string;
    itemName: string;
    mode: string;
    acceptingNode: string;
    competentNodes: string[];
    applicant: { idNumber: string; name: string };
    parts: Array<{ node: string; status: string; reason?: string }>;
    materials: Array<{ name: string; kind: string; required: boolean; checked: boolean }>;
    shipments: Array<{ id: string; carrier: string; trackingNumber: string; contents: string[]; to: string; status: string }>;
    evidence: Array<{ provider: string; service: string; requestId: string; fetchedAt: string; preview?: string; data?: Record<string, unknown> }>;
    decision?: { outcome: string; reason: string };
    result?: { code: string; description: string };
    history: Array<{ action: string; from: string | null; to: string; at: string; actor: { node: string; id: string; role: string }; reason?: string }>;
  };
  time: { light: string; deadline: string | null; remainingDays: number; unit: string; clockStopped: boolean; started: boolean };
  /** The e-certificate issued for the case: answered by its issuing node only. */
  certificate?: { id: string; vct: string; status: string };
}

/** Summary a counter clerk reads: state, light, deadline (the JSON shape scripts rely on). */
function summary(json: unknown) {
  const { case: c, time, certificate } = json as CaseJson;
  return { id: c.id, state: c.state, item: c.itemName, mode: c.mode, competent: c.competentNodes, light: time.light, deadline: time.deadline, remainingDays: time.remainingDays, ...(certificate ? { certificate } : {}) };
}

function timeText(time: CaseJson['time']): string {
  if (!time.started) return 'not started (the clock starts at acceptance)';
  const unit = time.unit === 'working' ? 'working days' : 'days';
  return `${time.light}, ${time.remainingDays} ${unit} left${time.deadline ? `, deadline ${time.deadline.slice(0, 10)}` : ''}${time.clockStopped ? ' (clock stopped)' : ''}`;
}

function summaryLines(json: unknown): string[] {
  const { case: c, time, certificate } = json as CaseJson;
  return formatRecord([
    ['case', c.id],
    ['item', `${c.itemCode} ${c.itemName}`],
    ['mode', c.mode],
    ['state', c.state],
    ['accepting', c.acceptingNode],
    ['competent', c.competentNodes.join(', ')],
    ['time limit', timeText(time)],
    ...c.shipments.map((s) => ['shipment', `${s.id} to ${s.to}: ${s.carrier} ${s.trackingNumber} (${s.status})`] as const),
    ['decision', c.decision ? `${c.decision.outcome}: ${c.decision.reason}` : undefined],
    ['result', c.result ? `${c.result.code} ${c.result.description}` : undefined],
    ['certificate', certificate ? `${certificate.id}${certificate.status === 'valid' ? '' : ` (${certificate.status})`}` : undefined],
  ]);
}

/** Prints a case answer: the summary record for people, the summary object for --json. */
function printCase(options: Common, json: unknown): void {
  if (options.json) printJson(summary(json));
  else printLines(summaryLines(json));
}

function printFullCase(json: unknown): void {
  const { case: c } = json as CaseJson;
  printLines([...summaryLines(json), `applicant   ${c.applicant.name} ${c.applicant.idNumber}`]);
  if (c.parts.length > 1) {
    printLines(['', 'Parts (one per competent node):']);
    printTable(['node', 'status', 'reason'], c.parts.map((p) => [p.node, p.status, p.reason ?? '']));
  }
  if (c.materials.length > 0) {
    printLines(['', 'Materials:']);
    printTable(['material', 'kind', 'required', 'checked'], c.materials.map((m) => [m.name, m.kind, m.required ? 'yes' : 'no', m.checked ? 'yes' : 'no']));
  }
  for (const e of c.evidence) {
    const preview = e.preview === 'pending' ? ' — held for the applicant’s preview' : e.preview === 'refused' ? ' — refused by the applicant' : e.preview === 'released' ? ' — released by the applicant' : '';
    const what = e.data ? ':' : e.preview === 'pending' || e.preview === 'refused' ? '' : ': a reference only — no agreement grants this node the data';
    printLines(['', `Evidence ${e.requestId} from ${e.provider} (${e.service}, ${e.fetchedAt.slice(0, 19).replace('T', ' ')})${preview}${what}`]);
    if (e.data) printTable(['field', 'value'], Object.entries(e.data).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  }
  printLines(['', 'History:']);
  printTable(
    ['at', 'step', 'by', 'node', 'state', 'reason'],
    c.history.map((h) => [h.at.slice(0, 19).replace('T', ' '), h.action, `${h.actor.id} (${h.actor.role})`, h.actor.node, `${h.from ?? '-'} → ${h.to}`, h.reason ?? '']),
  );
}

// ---- The steps: who performs each, where, in which modes, with which options. ----

const SEATS = {
  accepting: 'the accepting node (where the case was applied for)',
  competent: 'a competent node (one that decides the case)',
  participant: 'the accepting or a competent node',
} as const;

interface StepOption {
  readonly flags: string;
  readonly description: string;
  readonly required?: boolean;
  readonly choices?: readonly string[];
  /** Given several times, each value kept. */
  readonly repeatable?: boolean;
}

interface Step {
  readonly summary: string;
  /** Modes the step applies to; all three unless said. */
  readonly modes?: readonly (typeof handlingModes)[number][];
  readonly options?: readonly StepOption[];
  readonly example: string;
}

const REASON: StepOption = { flags: '--reason <text>', description: 'why (recorded in the history)' };
const MATERIALS: StepOption = { flags: '--materials <list>', description: 'materials the formal check found complete, comma-separated' };
const IDENTITY: StepOption = { flags: '--identity-verified', description: "the applicant's identity was checked" };
const SHIPMENT: StepOption = { flags: '--shipment <id>', description: 'the shipment id (printed by ship, and by case show)', required: true };
const EVIDENCE: StepOption = { flags: '--evidence <request>', description: 'the request id of the evidence (printed by case show)', required: true };

/** Role and seat come from the state machine (caseActions); what is said here is for people. */
const STEPS: Record<StaffCaseAction, Step> = {
  precheck: { summary: 'record the formal check of the materials and the identity check', options: [MATERIALS, IDENTITY], example: 'case precheck <case> --node 522732 --materials 居民身份证,申请表 --identity-verified' },
  'request-materials': {
    summary: 'notify the applicant, once, of materials to complete (补正告知); the clock stops',
    options: [{ flags: '--requested <list>', description: 'the materials to complete, comma-separated', required: true }, REASON],
    example: 'case request-materials <case> --node 522732 --requested 参保缴费凭证 --reason 缺少参保缴费凭证',
  },
  'complete-materials': { summary: 'the applicant has completed the materials; the case is back to applied', example: 'case complete-materials <case> --node 522732' },
  accept: {
    summary: 'accept the case (受理); with --materials / --identity-verified the checks are recorded first; hands the case to the competent node(s)',
    options: [MATERIALS, IDENTITY],
    example: 'case accept <case> --node 522732 --identity-verified --materials 居民身份证,申请表',
  },
  reject: { summary: 'refuse to accept the case (不予受理)', options: [REASON], example: 'case reject <case> --node 522732 --reason 不属于受理范围' },
  ship: {
    summary: 'send the physical materials to the competent node(s); prints the shipment id',
    modes: ['proxy'],
    options: [
      { flags: '--carrier <carrier>', description: 'e.g. EMS', required: true },
      { flags: '--tracking <number>', description: 'tracking number', required: true },
      { flags: '--contents <list>', description: 'what is in the parcel, comma-separated', required: true },
    ],
    example: 'case ship <case> --node 522732 --carrier EMS --tracking EA123456789CN --contents 申请表,身份证复印件',
  },
  receive: { summary: 'confirm that a shipment of physical materials arrived', modes: ['proxy'], options: [SHIPMENT], example: 'case receive <case> --node 330523 --shipment <shipment>' },
  'report-lost': { summary: 'report a shipment in transit as lost', modes: ['proxy'], options: [SHIPMENT, REASON], example: 'case report-lost <case> --node 522732 --shipment <shipment> --reason 快递丢失' },
  'start-review': {
    summary: 'start the substantive review (审查); in proxy mode only after the physical materials were received',
    example: 'case start-review <case> --node 330523',
  },
  return: { summary: 'return the case to the accepting node (退回) for a correction', options: [REASON], example: 'case return <case> --node 330523 --reason 申请表签名缺失' },
  resubmit: { summary: 'send a returned case back to the competent node(s)', example: 'case resubmit <case> --node 522732' },
  'start-special': { summary: 'start a special procedure (特别程序: hearing, expert review…); the clock stops', options: [REASON], example: 'case start-special <case> --node 330523 --reason 专家评审' },
  'end-special': { summary: 'end the special procedure; the review and the clock go on', example: 'case end-special <case> --node 330523' },
  suspend: { summary: 'suspend the case (挂起); the clock stops', options: [REASON], example: 'case suspend <case> --node 330523 --reason 等待司法认定' },
  resume: { summary: 'resume a suspended case', example: 'case resume <case> --node 330523' },
  decide: {
    summary: "decide this node's part: grant or refuse (joint: the case is decided when every part is granted, or at the first refusal)",
    options: [{ flags: '--outcome <outcome>', description: 'grant or refuse', required: true, choices: ['grant', 'refuse'] }, REASON],
    example: 'case decide <case> --node 330523 --outcome grant --reason 材料齐全',
  },
  conclude: {
    summary: 'conclude a decided case (办结) with its result',
    options: [
      { flags: '--result-code <code>', description: 'result code', required: true },
      { flags: '--result-description <text>', description: 'what the applicant receives', required: true },
      {
        flags: '--certificate-field <name=value>',
        description: "granted, when the item yields an e-certificate: a field of it the case's evidence lacks, e.g. spouseName=李四 (repeatable; docs/certificates.md)",
        repeatable: true,
      },
    ],
    example: 'case conclude <case> --node 330523 --result-code A01 --result-description 出具证明',
  },
  deliver: {
    summary: 'deliver the result to the applicant (送达)',
    options: [
      { flags: '--method <method>', description: 'online, post or counter', required: true, choices: ['online', 'post', 'counter'] },
      { flags: '--tracking <number>', description: 'tracking number, for post' },
    ],
    example: 'case deliver <case> --node 522732 --method counter',
  },
  'release-evidence': {
    summary: 'preview: let evidence held for your review go to the deciding node',
    options: [EVIDENCE],
    example: 'case release-evidence <case> --node 522732 --evidence <request>',
  },
  'refuse-evidence': {
    summary: 'preview: refuse evidence held for your review; it is deleted, never sent, and the case goes on without it',
    options: [EVIDENCE, { flags: '--reason <text>', description: 'why (recorded in the history)' }],
    example: 'case refuse-evidence <case> --node 522732 --evidence <request> --reason 信息有误',
  },
  withdraw: { summary: 'withdraw the application (撤回)', options: [REASON], example: 'case withdraw <case> --node 522732 --reason 申请人撤回' },
  escalate: { summary: 'escalate the case to the supervisors (done automatically when overdue)', options: [REASON], example: 'case escalate <case> --node 330523 --reason 逾期' },
};

const rolesOf = (action: CaseAction) => (caseActions[action].roles as readonly string[]).filter((r) => r !== 'system');
const seatOf = (action: CaseAction) => caseActions[action].seat;
const needsReason = (action: CaseAction) => 'needsReason' in caseActions[action] && caseActions[action].needsReason === true;
const modesOf = (step: Step) => (step.modes ?? handlingModes).join(', ');

/** "clerk at the accepting node" — what `tongban case --help` lists for each step. */
const whoText = (action: CaseAction) => `${rolesOf(action).join(' or ')} at ${SEATS[seatOf(action)].replace(/ \(.*\)$/, '')}`;

function stepHelp(action: CaseAction, step: Step): string {
  return [
    '',
    `Who:      ${rolesOf(action).join(' or ')}, acting at ${SEATS[seatOf(action)]}`,
    `Modes:    ${modesOf(step)}`,
    `Example:  npx tongban ${step.example} --token <token>`,
    '',
    'Uses your sign-in of tongban login, or a token in --token or TONGBAN_TOKEN (a hub access token, or a',
    "machine client's token from tongban account add: staff roles only). See docs/cases.md.",
  ].join('\n');
}

function addStepOption(command: Command, spec: StepOption, needed: boolean): void {
  const option = new Option(spec.flags, spec.description);
  if (spec.choices) option.choices(spec.choices);
  if (spec.repeatable) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
  if (needed) option.makeOptionMandatory();
  command.addOption(option);
}

export function casesCommand(program: Command): void {
  const cases = program
    .command('case')
    .description('cross-region cases (办件): apply, accept, ship, decide, conclude, deliver … (see docs/cases.md)')
    .addHelpText(
      'after',
      [
        '',
        'Every step is done by someone the node knows: a person signed in at the hub (tongban login) —',
        'staff at their own node, the applicant (a citizen) at any node — or a machine client of the node',
        '(tongban account add: one staff role).',
        '  The accepting node is where the applicant applies (e.g. 522732 三都);',
        '  the competent node(s) decide (e.g. 330523 安吉; joint handling has several).',
        'Modes: online (data fetched through exchanges instead of papers), proxy (the accepting node',
        'ships the papers), joint (each competent node decides its part). Each step: tongban case <step> --help.',
      ].join('\n'),
    );

  common(cases.command('apply').description('clerk or applicant at the accepting node: open a case (申办); prints the case id'))
    .requiredOption('--item <code>', 'item code, e.g. N034 (tongban catalog list)')
    .addOption(new Option('--mode <mode>', 'how the case is handled').choices(handlingModes).makeOptionMandatory())
    .requiredOption('--competent <nodes>', 'the competent node(s) that decide, comma-separated (joint: two or more)')
    .requiredOption('--id-number <id>', "the applicant's resident ID number")
    .requiredOption('--name <name>', "the applicant's name")
    .option('--phone <phone>')
    .addHelpText('after', `\nWho:      clerk or applicant, acting at ${SEATS.accepting}\nModes:    ${handlingModes.join(', ')}\nExample:  npx tongban case apply --node 522732 --item N010 --mode proxy --competent 330523 --id-number <id number> --name <name> --token <token>`)
    .action(async (options: Common & { item: string; mode: string; competent: string; idNumber: string; name: string; phone?: string }) => {
      const json = await call(options, 'POST', '/v1/cases', {
        itemCode: options.item.toUpperCase(),
        mode: options.mode,
        competentNodes: list(options.competent),
        applicant: { idNumber: options.idNumber, name: options.name, ...(options.phone ? { phone: options.phone } : {}) },
      });
      printCase(options, json);
    });

  common(cases.command('list').description('anyone with an account: the cases you may see at this node')).action(async (options: Common) => {
    const json = (await call(options, 'GET', '/v1/cases')) as { cases: unknown[] };
    if (options.json) return printJson(json.cases.map(summary));
    printTable(
      ['case', 'item', 'mode', 'state', 'accepting', 'competent', 'time limit'],
      json.cases.map((view) => {
        const { case: c, time } = view as CaseJson;
        return [c.id, `${c.itemCode} ${c.itemName}`, c.mode, c.state, c.acceptingNode, c.competentNodes.join(','), timeText(time)];
      }),
      'No cases.',
    );
  });

  common(cases.command('show').description('anyone with an account: one case in full, with its history and time limit').argument('<case>', 'case id')).action(
    async (id: string, options: Common) => {
      const json = await call(options, 'GET', `/v1/cases/${encodeURIComponent(id)}`);
      if (options.json) printJson(json);
      else printFullCase(json);
    },
  );

  common(
    cases
      .command('wait')
      .description('anyone with an account: wait until a case here has reached a state or a step (hand-offs between nodes take a moment)')
      .argument('<case>', 'case id'),
  )
    .addOption(new Option('--state <state>', 'wait for this state').choices(caseStates))
    .addOption(new Option('--step <step>', 'wait until this step (done here or at another node) is in the history here').choices(caseActionNames))
    .option('--timeout <seconds>', 'give up after this long (exit 1)', (v) => Number(v), 30)
    .addHelpText('after', '\nExample:  npx tongban case wait <case> --node 330523 --state accepted --token <token>')
    .action(async (id: string, options: Common & { state?: string; step?: string; timeout: number }) => {
      if (!options.state && !options.step) throw new TongbanError('BAD_REQUEST', 'Say what to wait for: --state or --step.');
      if (!Number.isFinite(options.timeout) || options.timeout <= 0) throw new TongbanError('BAD_REQUEST', '--timeout is a number of seconds.');
      const until = Date.now() + options.timeout * 1000;
      for (;;) {
        let json: CaseJson | undefined;
        try {
          json = (await call(options, 'GET', `/v1/cases/${encodeURIComponent(id)}`)) as CaseJson;
        } catch (error) {
          // Not handed over yet: the case is unknown here until the hand-off arrives.
          if (!(error instanceof Refusal && error.status === 404)) throw error;
        }
        const reached = json && (!options.state || json.case.state === options.state) && (!options.step || json.case.history.some((h) => h.action === options.step));
        if (json && reached) return printCase(options, json);
        if (Date.now() > until) {
          const what = [options.state ? `state ${options.state}` : '', options.step ? `step ${options.step}` : ''].filter(Boolean).join(' and ');
          throw new Refusal('TIMEOUT', 0, `Case ${id} did not reach ${what} at ${options.node} within ${options.timeout} s${json ? ` (it is ${json.case.state})` : ' (the node does not know it yet)'}.`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });

  common(cases.command('thread').description('staff of the nodes involved: read the consultation thread, or post to it').argument('<case>', 'case id'))
    .option('--post <text>', 'post a message (signed by this node)')
    .option('--escalate', 'ask a supervisor to decide')
    .action(async (id: string, options: Common & { post?: string; escalate?: boolean }) => {
      const path = `/v1/cases/${encodeURIComponent(id)}/thread`;
      const json = options.post ? await call(options, 'POST', path, { text: options.post, escalation: Boolean(options.escalate) }) : await call(options, 'GET', path);
      if (options.json) return printJson(json);
      type Message = { at: string; node: string; author: string; role: string; text: string; escalation: boolean };
      const messages = options.post ? [json as Message] : (json as { messages: Message[] }).messages;
      printTable(
        ['at', 'node', 'author', 'message'],
        messages.map((m) => [m.at.slice(0, 19).replace('T', ' '), m.node, `${m.author} (${m.role})`, `${m.escalation ? '[escalated] ' : ''}${m.text}`]),
        'No messages yet.',
      );
    });

  common(
    cases
      .command('evidence')
      .description('clerk or approver at a node involved: fetch data for the case from another node under an agreement (online mode: instead of papers)')
      .argument('<case>', 'case id'),
  )
    .requiredOption('--provider <code>', 'the node that holds the data')
    .requiredOption('--service <service>', 'e.g. household.residence-proof')
    .requiredOption('--purpose <purpose>', 'purpose as the agreement names it, e.g. 户籍类证明开具')
    .option('--fields <list>', 'comma-separated data elements (default: all the agreement grants)')
    .option('--consent <id or artefact>', "the applicant's consent where the agreement requires one: its id or the artefact the hub signed")
    .addHelpText('after', '\nModes:    online (any mode may use it)\nExample:  npx tongban case evidence <case> --node 330523 --provider 522732 --service household.residence-proof --purpose 户籍类证明开具 --token <token>')
    .action(async (id: string, options: Common & { provider: string; service: string; purpose: string; fields?: string; consent?: string }) => {
      const json = await call(options, 'POST', `/v1/cases/${encodeURIComponent(id)}/evidence`, {
        provider: options.provider,
        service: options.service,
        purpose: options.purpose,
        ...(options.fields ? { fields: list(options.fields) } : {}),
        ...(options.consent ? { consent: options.consent.trim() } : {}),
      });
      if (options.json) return printJson(summary(json));
      printLines(summaryLines(json));
      const latest = (json as CaseJson).case.evidence.at(-1);
      if (latest) printRecord([['evidence', `${latest.requestId}${latest.preview === 'pending' ? ' (held for the applicant’s preview: release-evidence or refuse-evidence)' : ''}`]]);
      if (latest?.data) printTable(['field', 'value'], Object.entries(latest.data).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    });

  common(
    cases
      .command('certificate')
      .description("clerk or approver at a node involved: take a certificate the applicant presents (tongban cert present) as evidence instead of a paper copy")
      .argument('<case>', 'case id'),
  )
    .requiredOption('--presentation <file>', 'the presentation file, or - for standard input')
    .option('--nonce <nonce>', 'the challenge the holder answered (key-bound certificates: tongban cert challenge)')
    .addHelpText('after', '\nExample:  npx tongban case certificate <case> --node 320400 --presentation marriage.sdjwt --token <token>')
    .action(async (id: string, options: Common & { presentation: string; nonce?: string }) => {
      const { readPresentation } = await import('./cert-holder.ts');
      const json = await call(options, 'POST', `/v1/cases/${encodeURIComponent(id)}/certificates`, { presentation: readPresentation(options.presentation), ...(options.nonce ? { nonce: options.nonce } : {}) });
      if (options.json) return printJson(summary(json));
      printLines(summaryLines(json));
      const latest = (json as CaseJson).case.evidence.at(-1);
      if (latest) printRecord([['evidence', `${latest.service} from ${latest.provider} (${latest.requestId})`]]);
      if (latest?.data) printTable(['field', 'value'], Object.entries(latest.data).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    });

  // One command per lifecycle step, each with its own options, role and node (from the state machine).
  for (const action of staffCaseActionNames) {
    const step = STEPS[action];
    const command = common(cases.command(action).description(`${whoText(action)}${step.modes ? ` [${step.modes.join(', ')}]` : ''}: ${step.summary}`).argument('<case>', 'case id'));
    for (const spec of step.options ?? []) addStepOption(command, spec, spec.required === true || (spec === REASON && needsReason(action)));
    command.addHelpText('after', stepHelp(action, step));
    command.action(async (id: string, options: Common & Record<string, string | string[] | boolean | undefined>) => {
      const path = `/v1/cases/${encodeURIComponent(id)}/actions`;
      const checks = {
        ...(typeof options.materials === 'string' ? { materials: list(options.materials).map((name) => ({ name, checked: true })) } : {}),
        ...(options.identityVerified ? { identityVerified: true } : {}),
      };
      // At the counter, "accept" after the formal and identity checks is one step.
      if (action === 'accept' && Object.keys(checks).length > 0) await call(options, 'POST', `${path}/precheck`, checks);
      const body = {
        ...(action === 'precheck' ? checks : {}),
        ...(typeof options.reason === 'string' ? { reason: options.reason } : {}),
        ...(typeof options.outcome === 'string' ? { outcome: options.outcome } : {}),
        ...(typeof options.resultCode === 'string' ? { result: { code: options.resultCode, description: String(options.resultDescription ?? '') } } : {}),
        ...(typeof options.method === 'string' ? { method: options.method } : {}),
        ...(typeof options.tracking === 'string' && action !== 'ship' ? { trackingNumber: options.tracking } : {}),
        ...(action === 'ship' ? { shipment: { carrier: String(options.carrier ?? ''), trackingNumber: String(options.tracking ?? ''), contents: list(String(options.contents ?? '')) } } : {}),
        ...(typeof options.shipment === 'string' ? { shipmentId: options.shipment } : {}),
        ...(typeof options.evidence === 'string' ? { requestId: options.evidence } : {}),
        ...(typeof options.requested === 'string' ? { requestedMaterials: list(options.requested) } : {}),
        ...(Array.isArray(options.certificateField) ? { certificateFields: namedValues(options.certificateField, '--certificate-field') } : {}),
      };
      printCase(options, await call(options, 'POST', `${path}/${action}`, body));
    });
  }
}
