import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cstDate, WorkingCalendar } from '../cases/calendar.ts';
import { nationalItems } from '../catalog/index.ts';
import { CONFIG_FILE_NAME } from '../config/index.ts';
import { resetFederation, startFederation, type FederationConfigInput, type RunningFederation } from '../federation/index.ts';
import { sampleSubjects } from './registries.ts';
import { planSeed, type CasePlan, type CaseStep, type ConsentPlan, type ExchangePlan, type NegotiationPlan, type PlanPerson, type SeedPlan, type StepActor } from './plan.ts';
import { signInAtHub } from './sign-in.ts';
import { SEED_STAMP, SEED_VERSION, type SeedCounts, type SeedStamp } from './stamp.ts';

/**
 * The demo seed: a federation that has been running for some weeks. It is started on a simulated
 * clock that begins before the first working day of the plan and jumps forward day by day (never
 * back) to the present, and every step is taken through the servers' own APIs by people signed in
 * at the hub (staff by role and node, citizens with their own accounts) or the nodes' operators:
 * audit chains, signatures, messages between nodes and certificates are the real ones. Only the
 * servers' clock is simulated, and only in the process that seeds.
 */

/** TONGBAN_SEED_TRACE=1: slow calls, sign-ins, waits for copies and the outboxes behind them, on the seed's log. */
const TRACE = Boolean(process.env.TONGBAN_SEED_TRACE);

/** A clock that runs at real speed behind the real time, and can be moved forward to any instant up to now. */
export class SimulatedClock {
  #offset: number;

  constructor(start: Date) {
    this.#offset = Math.max(0, Date.now() - start.getTime());
  }

  readonly now = (): Date => new Date(Date.now() - this.#offset);

  /** Moves forward to `instant` (capped at the real time); never back. */
  advanceTo(instant: number): void {
    const target = Math.min(instant, Date.now());
    if (target > this.now().getTime()) this.#offset = Date.now() - target;
  }

  /** From now on, the real time. */
  realTime(): void {
    this.#offset = 0;
  }
}

export interface SeedOptions {
  /** Cases in all (a few hundred for the demo). */
  readonly cases: number;
  /** Working days of history. */
  readonly days?: number;
  readonly log?: (message: string) => void;
  /** Parallel cases within a time slot. */
  readonly concurrency?: number;
}

/** The last `count` working days before today (CST) and today itself, oldest first. */
export function workingDays(today: Date, count: number, calendar = WorkingCalendar.china()): string[] {
  const days: string[] = [cstDate(today)];
  let t = Date.parse(days[0] + 'T00:00:00Z');
  while (days.length <= count) {
    t -= 86_400_000;
    const date = new Date(t).toISOString().slice(0, 10);
    if (calendar.isWorkingDay(date)) days.unshift(date);
  }
  return days;
}

/** 09:10 CST of a date plus `hhmm` of that day's office hours, as an instant. */
function instantOf(date: string, hhmm: string): number {
  return Date.parse(`${date}T${hhmm}:00+08:00`);
}

/**
 * The whole first start of a demo folder: runs the federation in this process on a simulated clock
 * from `days` working days ago, carries out the plan, stops it, writes the stamp (with the counts
 * read back from the APIs) and only then moves it into place: it is built in `<dir>.seeding`, so an
 * interrupted seed leaves no half-seeded demo behind (the next start deletes the leftover and
 * seeds again). The folder must not hold a federation yet.
 */
export async function seedDemoFolder(config: FederationConfigInput, options: SeedOptions & { baseDir: string }): Promise<SeedStamp> {
  const dir = resolve(options.baseDir, config.dir ?? 'var/federation');
  if (existsSync(join(dir, 'hub', CONFIG_FILE_NAME))) throw new Error(`${dir} already holds a federation: the seed builds a new one.`);
  const building = `${dir}.seeding`;
  // A seed interrupted before: its servers are gone with the process that ran them.
  if (existsSync(building)) await resetFederation(building).catch(() => rmSync(building, { recursive: true, force: true }));
  const log = options.log ?? (() => {});
  const days = workingDays(new Date(), options.days ?? 30);
  // The federation is set up three days before the first working day of the history.
  const clock = new SimulatedClock(new Date(instantOf(days[0]!, '08:00') - 3 * 86_400_000));
  const started = Date.now();
  log(`seed: a federation running since ${cstDate(clock.now())}, ${options.cases} cases over ${days.length} working days`);
  const f = await startFederation({ ...config, dir: building }, { baseDir: options.baseDir, mode: 'in-process', logLevel: 'error', clock: clock.now, log: (m) => (/"level":(50|60)/.test(m) ? log(m) : undefined) });
  let stamp: SeedStamp;
  try {
    stamp = { ...(await seedFederation(f, clock, options)), seconds: 0 };
  } finally {
    await f.stop();
  }
  stamp = { ...stamp, seconds: Math.round((Date.now() - started) / 1000) };
  writeFileSync(join(building, SEED_STAMP), JSON.stringify(stamp, null, 2) + '\n');
  renameSync(building, dir);
  return stamp;
}

/**
 * Seeds a running federation whose servers run on `clock` (in this process), up to the present;
 * afterwards the clock is the real time. Needs the federation's demo people (config `demoPeople`).
 */
export async function seedFederation(f: RunningFederation, clock: SimulatedClock, options: SeedOptions): Promise<Omit<SeedStamp, 'seconds'>> {
  const password = f.config.demoPeople?.password;
  if (!password) throw new Error('seeding needs the demo people (config demoPeople)');
  const log = options.log ?? (() => {});
  const nodes = [...f.nodes.keys()];
  const days = workingDays(new Date(), options.days ?? 30);
  const people: Record<string, PlanPerson[]> = {};
  const businesses: Record<string, Array<{ creditCode: string; entityName: string }>> = {};
  for (const node of nodes) {
    const sample = sampleSubjects(f.registryPath(node), 2000);
    people[node] = sample.people;
    businesses[node] = sample.businesses;
  }
  // The citizens the seed enrols: the demo's own first ones (already enrolled) and a few more of each place.
  const citizenCount: Record<string, number> = { [nodes[0]!]: 6, [nodes[1] ?? '']: 2 };
  const citizens = nodes.flatMap((node) => (people[node] ?? []).slice(0, citizenCount[node] ?? 1).map((p) => ({ idNumber: p.idNumber, name: p.name, node })));
  const plan = planSeed({
    cases: options.cases,
    days,
    nodes,
    people,
    businesses,
    citizens,
    committedDays: (code) => nationalItems.find((i) => i.code === code)?.timeLimit.committedDays ?? 10,
  });
  const run = new SeedRun(f, clock, password, log, options.concurrency ?? 6);
  for (const citizen of citizens) await run.enrolCitizen(citizen);
  await run.carryOut(plan);
  clock.realTime();
  await run.deadMessages();
  const counts = await run.counts(plan);
  if (run.failures.length > 0) log(`seed: ${run.failures.length} steps failed (first: ${run.failures[0]})`);
  return { version: SEED_VERSION, seededAt: new Date().toISOString(), from: days[0]!, to: days.at(-1)!, citizens, counts, failures: run.failures };
}

interface Answer {
  readonly status: number;
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- the servers' answers, read field by field
}

interface CaseRecord {
  id?: string;
  version: number;
  broken?: boolean;
  /** Handed over to the competent nodes (accepted): they hold copies from then on. */
  handedOver?: boolean;
  shipments: Array<{ id: string; to: string; status: string }>;
  requestIds: string[];
}

/** One seeding run: tokens, HTTP calls, the state of every planned case. */
class SeedRun {
  readonly failures: string[] = [];
  readonly #tokens = new Map<string, { token: string; at: number }>();
  readonly #cases = new Map<number, CaseRecord>();
  readonly #negotiations = new Map<string, string>();
  readonly exchangeOutcomes: Array<{ expect: ExchangePlan['expect']; status: number; code?: string }> = [];
  consents = 0;
  trackerReads = 0;
  readonly #started = Date.now();

  constructor(
    readonly f: RunningFederation,
    readonly clock: SimulatedClock,
    readonly password: string,
    readonly log: (m: string) => void,
    readonly concurrency: number,
  ) {}

  endpoint(node: string): string {
    return node === this.f.config.hub.division ? this.f.hub.endpoint : this.f.nodes.get(node)!.endpoint;
  }

  async call(node: string, path: string, init: { method?: 'GET' | 'POST'; token?: string; body?: unknown } = {}): Promise<Answer> {
    const t0 = Date.now();
    try {
      return await this.#call(node, path, init);
    } finally {
      if (TRACE && Date.now() - t0 > 1500) this.log(`seed: slow ${init.method ?? (init.body === undefined ? 'GET' : 'POST')} ${node} ${path}: ${Date.now() - t0} ms`);
    }
  }

  async #call(node: string, path: string, init: { method?: 'GET' | 'POST'; token?: string; body?: unknown } = {}): Promise<Answer> {
    const response = await fetch(new URL(path, this.endpoint(node)), {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    let json: unknown = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { text };
    }
    return { status: response.status, json };
  }

  /** A hub access token for a login (staff `role@node`, or a citizen's ID number), signed in again after 8 minutes. */
  async token(login: string): Promise<string> {
    const held = this.#tokens.get(login);
    if (held && Date.now() - held.at < 8 * 60_000) return held.token;
    const t0 = Date.now();
    const token = await signInAtHub(this.f.hub.endpoint, login, this.password);
    if (TRACE) this.log(`seed: signed in ${login} in ${Date.now() - t0} ms`);
    this.#tokens.set(login, { token, at: Date.now() });
    return token;
  }

  loginOf(actor: StepActor, c?: CasePlan): string {
    if (actor.role === 'citizen') return c!.applicant.idNumber;
    return `${actor.role}@${actor.node}`;
  }

  async enrolCitizen(citizen: PlanPerson): Promise<void> {
    const { status, json } = await this.call(this.f.config.hub.division, '/v1/identity/citizens', { token: this.f.adminToken(), body: { idNumber: citizen.idNumber, name: citizen.name, password: this.password } });
    if (status !== 201 && json.code !== 'PERSON_LOGIN_TAKEN') throw new Error(`the hub did not enrol ${citizen.name}: ${JSON.stringify(json)}`);
  }

  async carryOut(plan: SeedPlan): Promise<void> {
    for (const c of plan.cases) this.#cases.set(c.index, { version: 0, shipments: [], requestIds: [] });
    for (let day = 0; day < plan.days.length; day++) {
      const date = plan.days[day]!;
      const today = plan.cases.flatMap((c) => c.steps.filter((s) => s.day === day).map((step) => ({ c, step })));
      const slots = [...new Set(today.map(({ step }) => ('at' in step ? step.at : '')))].sort();
      // Steps without their own time (a release) follow the previous step of their case: group them by case, in order.
      const byCase = new Map<number, CaseStep[]>();
      for (const { c, step } of today) byCase.set(c.index, [...(byCase.get(c.index) ?? []), step]);
      const slotOf = (steps: CaseStep[], i: number): string => {
        for (let j = i; j >= 0; j--) {
          const s = steps[j]!;
          if ('at' in s) return s.at;
        }
        return '09:00';
      };
      for (const slot of slots) {
        await this.advance(instantOf(date, slot));
        const work = [...byCase].flatMap(([index, steps]) => {
          const mine = steps.filter((_s, i) => slotOf(steps, i) === slot);
          return mine.length > 0 ? [{ c: plan.cases[index]!, steps: mine }] : [];
        });
        await this.pool(work, async ({ c, steps }) => {
          for (const step of steps) await this.caseStep(c, step);
        });
        // Every copy up to date before the clock moves on: a message between nodes is signed for a
        // minute, and one still on its way when the clock jumps would arrive expired.
        await this.pool(
          work.map((w) => w.c),
          (c) => this.synced(c),
        );
        // Messages that change no case copy — a certificate filed at the hub on conclude, a
        // consent's use reported to the hub, a consultation message — must arrive too.
        if (work.some((w) => w.steps.some((step) => (step.kind === 'action' && step.action === 'conclude') || step.kind === 'thread' || (step.kind === 'evidence' && step.consent)))) {
          await new Promise((r) => setTimeout(r, 600));
        }
      }
      await this.advance(instantOf(date, '16:00'));
      await this.pool(plan.exchanges.filter((e) => e.day === day), (e) => this.exchange(e));
      for (const n of plan.negotiations.filter((x) => x.day === day)) await this.negotiate(n, date);
      for (const consent of plan.consents.filter((x) => x.day === day)) await this.standaloneConsent(consent);
      if (day === plan.days.length - 1) {
        for (const idNumber of plan.trackerReads) await this.trackerRead(idNumber);
      }
      // Whatever else is on its way between servers (consent revocations, negotiation copies) arrives before the jump.
      await new Promise((r) => setTimeout(r, 1000));
      if (TRACE || day % 5 === 4 || day === plan.days.length - 1) this.log(`seed: ${date} done (${day + 1}/${plan.days.length} days, ${Math.round((Date.now() - this.#started) / 1000)} s)`);
      if (day < plan.days.length - 1) await this.advance(instantOf(plan.days[day + 1]!, '08:30'));
    }
  }

  async pool<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(this.concurrency, items.length) }, async () => {
        while (next < items.length) await work(items[next++]!);
      }),
    );
  }

  #refreshedAt = 0;

  /**
   * Moves the clock on. Snapshots of the directory last an hour (the hub signs a new one when its
   * own is half that old), and nodes fetch them on a timer of real seconds: after a jump every node
   * takes the hub's directory as of the new time, or it would refuse to rely on an expired one.
   */
  async advance(instant: number): Promise<void> {
    await this.quiet();
    this.clock.advanceTo(instant);
    if (this.clock.now().getTime() - this.#refreshedAt < Math.min(20 * 60, this.f.config.directory.snapshotTtlSeconds / 4) * 1000) return;
    await Promise.all([...this.f.nodes.keys()].map((node) => this.call(node, '/v1/operator/directory/refresh', { method: 'POST', token: this.f.operatorToken(node) })));
    this.#refreshedAt = this.clock.now().getTime();
  }

  /**
   * Waits (15 s at most) until no server has a message on its way: one still in flight when the
   * clock jumps would arrive with an expired signature (a message is signed for a minute).
   */
  async quiet(): Promise<void> {
    const stores = [this.f.hub, ...this.f.nodes.values()].flatMap((server) => (server.runtime ? [server.runtime.store] : []));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const stats = (await Promise.all(stores.map((store) => store.outbox.stats()))).flat();
      if (!stats.some((row) => row.status === 'pending' && row.count > 0)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Messages between servers that failed for good (each one a copy, a notice or an index entry lost). */
  async deadMessages(): Promise<void> {
    for (const node of [this.f.config.hub.division, ...this.f.nodes.keys()]) {
      const { json } = await this.call(node, '/v1/operator/outbox?limit=1000', { token: this.f.operatorToken(node) });
      for (const m of (json.messages ?? []) as Array<{ kind: string; destination: string; status: string; lastError: string }>) {
        if (m.status === 'dead') this.failures.push(`message ${m.kind} ${node} → ${m.destination} dead: ${m.lastError}`);
      }
    }
  }

  fail(c: CasePlan, step: CaseStep, answer: Answer | string): void {
    const record = this.#cases.get(c.index)!;
    record.broken = true;
    const why = typeof answer === 'string' ? answer : `${answer.status} ${answer.json.code ?? ''} ${answer.json.detail ?? ''}`;
    this.failures.push(`case #${c.index} (${c.itemCode} ${c.mode} ${c.accepting}→${c.competent.join('+')}, to ${c.target}) at ${step.kind}${'action' in step ? ' ' + step.action : ''}: ${why}`);
  }

  /** Waits until `node`'s copy of the case has caught up with the latest step. */
  async caughtUp(c: CasePlan, node: string, token: string): Promise<boolean> {
    const record = this.#cases.get(c.index)!;
    const deadline = Date.now() + 30_000;
    const t0 = Date.now();
    let probed = false;
    for (;;) {
      const { status, json } = await this.call(node, `/v1/cases/${record.id}`, { token });
      if (status === 200 && json.case.version >= record.version) {
        if (TRACE && Date.now() - t0 > 1500) this.log(`seed: ${node} caught up with ${record.id} v${record.version} after ${Date.now() - t0} ms`);
        return true;
      }
      if (Date.now() > deadline) return false;
      if (TRACE && Date.now() - t0 > 3000 && !probed) {
        probed = true;
        this.log(`seed: waiting for ${node} to hold ${record.id} v${record.version} (has ${status === 200 ? json.case.version : status})`);
        for (const n of this.f.nodes.keys()) {
          const { json: o } = await this.call(n, '/v1/operator/outbox?limit=5', { token: this.f.operatorToken(n) });
          for (const m of o.messages ?? []) this.log(`seed: outbox ${n}: ${m.kind} → ${m.destination} ${m.status} #${m.attempts} ${m.lastError}`);
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async synced(c: CasePlan): Promise<void> {
    const record = this.#cases.get(c.index)!;
    if (!record.id || record.broken) return;
    for (const node of new Set([c.accepting, ...c.competent])) {
      if (!record.handedOver && node !== c.accepting) continue;
      if (!(await this.caughtUp(c, node, await this.token(`clerk@${node}`)))) this.log(`seed: ${node} has not caught up with case ${record.id}`);
    }
  }

  record(c: CasePlan, answer: Answer): void {
    const record = this.#cases.get(c.index)!;
    const kase = answer.json.case;
    record.version = Math.max(record.version, kase.version);
    record.shipments = kase.shipments;
  }

  async caseStep(c: CasePlan, step: CaseStep): Promise<void> {
    const record = this.#cases.get(c.index)!;
    if (record.broken) return;
    if (step.kind === 'apply') {
      const answer = await this.call(c.accepting, '/v1/cases', {
        token: await this.token(`clerk@${c.accepting}`),
        body: { itemCode: c.itemCode, mode: c.mode, competentNodes: c.competent, applicant: { idNumber: c.applicant.idNumber, name: c.applicant.name, phone: `13${c.applicant.idNumber.slice(-9)}` } },
      });
      if (answer.status !== 201) return this.fail(c, step, answer);
      record.id = answer.json.case.id;
      return this.record(c, answer);
    }
    if (step.kind === 'release') {
      const token = await this.token(c.applicant.idNumber);
      for (const requestId of record.requestIds) {
        const answer = await this.call(c.accepting, `/v1/cases/${record.id}/actions/${step.refuse ? 'refuse-evidence' : 'release-evidence'}`, { token, body: { requestId } });
        if (answer.status !== 200) return this.fail(c, step, answer);
        this.record(c, answer);
      }
      return;
    }
    const token = await this.token(this.loginOf(step.by, c));
    if (!(await this.caughtUp(c, step.by.node, token))) return this.fail(c, step, `${step.by.node} never received version ${record.version}`);
    if (step.kind === 'thread') {
      const answer = await this.call(step.by.node, `/v1/cases/${record.id}/thread`, { token, body: { text: step.text } });
      if (answer.status !== 201 && answer.status !== 200) this.fail(c, step, answer);
      return;
    }
    if (step.kind === 'evidence') {
      let consent: string | undefined;
      if (step.consent) {
        consent = await this.grantConsent(c.applicant.idNumber, step.consent);
        if (!consent) return this.fail(c, step, 'the consent was not granted');
      }
      const answer = await this.call(step.by.node, `/v1/cases/${record.id}/evidence`, { token, body: { provider: step.provider, service: step.service, purpose: step.purpose, ...(consent ? { consent } : {}) } });
      if (answer.status !== 200) return this.fail(c, step, answer);
      const evidence = answer.json.case.evidence as Array<{ requestId: string; preview?: string }>;
      record.requestIds = evidence.filter((e) => e.preview === 'pending').map((e) => e.requestId);
      return this.record(c, answer);
    }
    let input = step.input;
    if (step.action === 'receive') {
      const shipment = record.shipments.find((s) => s.to === step.shipmentTo && s.status === 'sent');
      if (!shipment) return this.fail(c, step, `no shipment to ${step.shipmentTo}`);
      input = { shipmentId: shipment.id };
    }
    const answer = await this.call(step.by.node, `/v1/cases/${record.id}/actions/${step.action}`, { token, body: input });
    if (answer.status !== 200) return this.fail(c, step, answer);
    if (step.action === 'accept') record.handedOver = true;
    this.record(c, answer);
  }

  async grantConsent(idNumber: string, consent: ConsentPlan): Promise<string | undefined> {
    const token = await this.token(idNumber);
    const { status, json } = await this.call(this.f.config.hub.division, '/v1/consents', {
      token,
      body: { ...consent, fields: [...consent.fields], expiresAt: new Date(this.clock.now().getTime() + 30 * 86_400_000).toISOString(), use: 'single' },
    });
    if (status !== 201) {
      this.log(`seed: consent refused: ${status} ${JSON.stringify(json)}`);
      return undefined;
    }
    this.consents++;
    return json.id as string;
  }

  async standaloneConsent(plan: ConsentPlan & { day: number; citizen: string; revoke: boolean }): Promise<void> {
    const terms: ConsentPlan = { requester: plan.requester, provider: plan.provider, agreementId: plan.agreementId, itemCode: plan.itemCode, service: plan.service, purpose: plan.purpose, fields: plan.fields };
    const id = await this.grantConsent(plan.citizen, terms);
    if (!id || !plan.revoke) return;
    const { status, json } = await this.call(this.f.config.hub.division, `/v1/consents/${id}/revoke`, { token: await this.token(plan.citizen), body: {} });
    if (status !== 200) this.failures.push(`consent revocation: ${status} ${JSON.stringify(json)}`);
  }

  async exchange(e: ExchangePlan): Promise<void> {
    const { status, json } = await this.call(e.from, '/v1/operator/exchange', {
      token: this.f.operatorToken(e.from),
      body: { provider: e.provider, service: e.service, subject: e.subject, purpose: e.purpose, ...(e.via ? { via: e.via } : {}), ...(e.fields ? { fields: [...e.fields] } : {}) },
    });
    this.exchangeOutcomes.push({ expect: e.expect, status, ...(status === 200 ? {} : { code: json.code }) });
    if ((status === 200) !== (e.expect === 'served')) this.failures.push(`exchange ${e.from}→${e.provider} ${e.service} (${e.expect}): ${status} ${json.code ?? ''}`);
  }

  async trackerRead(idNumber: string): Promise<void> {
    const { status, json } = await this.call(this.f.config.hub.division, '/v1/tracker', { token: await this.token(idNumber) });
    if (status === 200) this.trackerReads++;
    else this.failures.push(`tracker read: ${status} ${json.code ?? ''}`);
  }

  async negotiate(n: NegotiationPlan, date: string): Promise<void> {
    const operator = (node: string) => ({ token: this.f.operatorToken(node) });
    const validFrom = new Date(Date.parse(`${date}T00:00:00+08:00`)).toISOString();
    const validUntil = new Date(Date.parse(validFrom) + 2 * 365 * 86_400_000).toISOString();
    const parties = [n.convener, ...n.partners];
    const person = '数据管理员';
    const body =
      'template' in n.origin
        ? { template: n.origin.template, params: { id: n.agreementId, convener: n.convener, partners: [...n.partners], ...(n.origin.items ? { items: [...n.origin.items] } : {}), validFrom, validUntil }, operator: person }
        : { terms: scratchTerms(n, parties, validFrom, validUntil, 10, 1095), operator: person };
    const drafted = await this.call(n.convener, '/v1/operator/agreements/drafts', { ...operator(n.convener), body });
    if (drafted.status !== 201) return void this.failures.push(`negotiation ${n.agreementId} draft: ${drafted.status} ${drafted.json.code ?? ''} ${drafted.json.detail ?? ''}`);
    const id = drafted.json.id as string;
    this.#negotiations.set(n.agreementId, id);
    const terms = drafted.json.terms as Record<string, unknown>;
    const act = async (node: string, action: Record<string, unknown>): Promise<boolean> => {
      const answer = await this.call(node, `/v1/operator/agreements/drafts/${id}/actions`, { ...operator(node), body: action });
      if (answer.status !== 200) this.failures.push(`negotiation ${n.agreementId} ${String(action.action)} at ${node}: ${answer.status} ${answer.json.code ?? ''} ${answer.json.detail ?? ''}`);
      return answer.status === 200;
    };
    const holds = async (node: string, check: (v: { rounds: unknown[]; state: string }) => boolean): Promise<boolean> => {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const { status, json } = await this.call(node, `/v1/operator/agreements/drafts/${id}`, operator(node));
        if (status === 200 && check(json)) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      this.failures.push(`negotiation ${n.agreementId}: ${node} did not catch up`);
      return false;
    };
    if (!(await act(n.convener, { action: 'propose' }))) return;
    for (const p of n.partners) if (!(await holds(p, (v) => v.rounds.length === 1))) return;
    if (n.until === 'proposed') return;
    if (n.until === 'countered') {
      // Each partner in turn asks for other terms: a round per counter-offer, each answering the last.
      let round = 1;
      for (const [i, p] of n.partners.entries()) {
        const counter = { ...terms, ...('scratch' in n.origin ? scratchTerms(n, parties, validFrom, validUntil, 10 + 5 * (i + 1), 1095 - 365 * (i + 1)) : {}) };
        if (!(await act(p, { action: 'counter', answers: round, terms: counter }))) return;
        round++;
        for (const q of parties) if (!(await holds(q, (v) => v.rounds.length === round))) return;
      }
      return;
    }
    for (const p of n.partners) if (!(await act(p, { action: 'accept', round: 1 }))) return;
    if (!(await holds(n.convener, (v) => v.state === 'accepted'))) return;
    for (const p of parties) if (!(await holds(p, (v) => v.state === 'accepted'))) return;
    for (const p of parties) if (!(await act(p, { action: 'sign' }))) return;
    if (!(await holds(n.convener, (v) => v.state === 'signed'))) return;
    if (n.until === 'signed') return;
    await act(n.convener, { action: 'register' });
  }

  /** What the seed produced, read back from the APIs (each case counted once, at its accepting node). */
  async counts(plan: SeedPlan): Promise<SeedCounts> {
    const byState: Record<string, number> = {};
    const byMode: Record<string, number> = {};
    const light: Record<string, number> = {};
    let cases = 0;
    let previews = 0;
    let certificates = 0;
    for (const node of this.f.nodes.keys()) {
      const token = await this.token(`clerk@${node}`);
      for (let offset = 0; ; offset += 1000) {
        const { json } = await this.call(node, `/v1/cases?limit=1000&offset=${offset}`, { token });
        const page = json.cases as Array<{ case: { acceptingNode: string; state: string; mode: string; evidence: Array<{ preview?: string }> }; time: { light: string }; certificate?: unknown }>;
        for (const { case: c, time } of page.filter((x) => x.case.acceptingNode === node)) {
          cases++;
          byState[c.state] = (byState[c.state] ?? 0) + 1;
          byMode[c.mode] = (byMode[c.mode] ?? 0) + 1;
          light[time.light] = (light[time.light] ?? 0) + 1;
          if (c.evidence.some((e) => e.preview)) previews++;
        }
        if (page.length < 1000) break;
      }
      const { json: issued } = await this.call(node, '/v1/certificates?limit=1', { token });
      certificates += (issued.total as number | undefined) ?? 0;
    }
    const refusedByCode: Record<string, number> = {};
    for (const o of this.exchangeOutcomes.filter((x) => x.status !== 200)) refusedByCode[o.code ?? String(o.status)] = (refusedByCode[o.code ?? String(o.status)] ?? 0) + 1;
    const negotiationStates: Record<string, number> = {};
    for (const [agreementId, id] of this.#negotiations) {
      const n = plan.negotiations.find((x) => x.agreementId === agreementId)!;
      const { json } = await this.call(n.convener, `/v1/operator/agreements/drafts/${id}`, { token: this.f.operatorToken(n.convener) });
      negotiationStates[json.state] = (negotiationStates[json.state] ?? 0) + 1;
    }
    return {
      cases,
      byState,
      byMode,
      light,
      exchanges: { served: this.exchangeOutcomes.filter((o) => o.status === 200).length, refused: this.exchangeOutcomes.filter((o) => o.status !== 200).length, refusedByCode },
      negotiations: { fromTemplate: plan.negotiations.filter((n) => 'template' in n.origin).length, fromScratch: plan.negotiations.filter((n) => 'scratch' in n.origin).length, byState: negotiationStates },
      consents: this.consents,
      certificates,
      previews,
      trackerReads: this.trackerReads,
    };
  }
}

const INSURANCE = ['idNumber', 'name', 'socialInsuranceInsuredDivision', 'socialInsuranceStatus', 'contributionMonths', 'contributionStartDate'];

/** Terms written from scratch (no template): one item, grants both ways, security duties. */
function scratchTerms(n: NegotiationPlan, parties: readonly string[], validFrom: string, validUntil: string, timeLimitDays: number, retentionDays: number): Record<string, unknown> {
  const origin = n.origin as { itemCode: string; title: string };
  return {
    id: n.agreementId,
    version: 1,
    title: origin.title,
    parties: [...parties],
    topology: parties.length > 2 ? 'hub' : 'bridge',
    validFrom,
    validUntil,
    items: [
      {
        itemCode: origin.itemCode,
        mode: 'joint',
        acceptingNodes: [...parties],
        decidingNodes: [...parties],
        timeLimitDays,
        acceptance: { materials: [{ name: '居民身份证', kind: 'physical', required: true }], conditions: ['参保人本人申请'] },
        grants: parties.map((provider) => ({ provider, service: 'social-insurance.contribution-history', requesters: parties.filter((p) => p !== provider), fields: INSURANCE, purposes: ['养老保险关系转移接续'], consentRequired: false })),
      },
    ],
    securityDuties: { contacts: parties.map((party) => ({ party, name: `${party} 数据局` })), incidentNotificationHours: 24, retentionDays, encryptionRequired: true },
  };
}
