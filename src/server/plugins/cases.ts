import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ActionInputSchema, Case, CaseState, caseMessageKinds, TERMINAL_STATES, isApplicant, principalFor, staffCaseActionNames, ThreadMessage, type CaseView, type StaffCaseAction, type Principal } from '../../cases/index.ts';
import { HandlingMode } from '../../catalog/index.ts';
import { CertificateStatus } from '../../certificates/index.ts';
import { certificateFormOf } from '../../issuer/index.ts';
import type { NodeRuntime } from '../../node/index.ts';
import { incomingRequest } from '../auth.ts';
import { TongbanError } from '../../errors/index.ts';
import type { Person } from '../../identity/person.ts';
import { ConsentArtefact } from '../../exchange/index.ts';
import type { ServerContext } from '../context.ts';
import { StreamLimiter } from '../limits.ts';
import { addRoute, Page } from '../route.ts';
import { InboxAnswerOut } from './messages.ts';

const TimeStatusOut = z.object({
  started: z.boolean(),
  finished: z.boolean(),
  clockStopped: z.boolean(),
  unit: z.enum(['working', 'calendar']),
  limitDays: z.number(),
  usedDays: z.number(),
  remainingDays: z.number(),
  deadline: z.string().nullable(),
  overdue: z.boolean(),
  light: z.enum(['green', 'yellow', 'red', 'none']),
});
/** The e-certificate this node issued for the case (only at the issuing node): no personal field. */
const CaseCertificateOut = z.object({ id: z.string(), vct: z.string(), status: CertificateStatus });
/**
 * At a competent node, before its certificate exists: the e-certificate the case's item yields and
 * the fields a conclusion may give (certificateFields), with the values its evidence already has.
 */
const CaseCertificateFormOut = z.object({
  vct: z.string(),
  name: z.string(),
  nameEn: z.string(),
  fields: z.array(z.object({ name: z.string(), label: z.string(), required: z.boolean(), value: z.string().optional() })),
});
export const CaseOut = z.object({ case: Case, time: TimeStatusOut, certificate: CaseCertificateOut.optional(), certificateForm: CaseCertificateFormOut.optional() });

/** What staff and applicants may send; evidence is recorded by the node itself (POST …/evidence). */
const ActionBody = ActionInputSchema.omit({ evidence: true });

const InboxMessage = z.object({ id: z.string().min(1).max(80), kind: z.enum(caseMessageKinds), payload: z.unknown() });

/** Cases: the staff and applicant API, the node-to-node inbox, live events. */
export function casesPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  const self = runtime.config.node.division;

  /**
   * Who is calling, as runtime.identity proved it (session cookie, hub access token, machine
   * token), as a case principal at this node (principalFor): run in the route's onRequest hook.
   */
  const principals = new WeakMap<FastifyRequest, Principal>();
  const people = new WeakMap<FastifyRequest, Person>();
  const authenticate = async (request: FastifyRequest) => {
    principals.set(request, await lookUp(request));
  };
  // Applying: the person too (a citizen applies as themselves, named as their sign-in names them).
  const authenticateApplicant = async (request: FastifyRequest) => {
    const person = await runtime.identity.authenticate(request);
    people.set(request, person);
    principals.set(request, principalFor(person, self));
  };
  const principalOf = async (request: FastifyRequest): Promise<Principal> => principals.get(request) ?? lookUp(request);
  const lookUp = async (request: FastifyRequest): Promise<Principal> => principalFor(await runtime.identity.authenticate(request), self);

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/cases',
    tag: 'cases',
    summary: 'Apply (申办): open a case at this node for an item decided by one or more competent nodes',
    body: z.object({
      itemCode: z.string().min(1).max(30),
      mode: HandlingMode,
      competentNodes: z.array(z.string().regex(/^\d{6}$/)).min(1).max(10),
      /** Staff: the applicant they accept for. A citizen applies for themselves: left out, the sign-in names them (an ID number of anyone else is CASE_FORBIDDEN). */
      applicant: z.object({ idNumber: z.string().min(15).max(18), name: z.string().min(1).max(50), phone: z.string().max(20).optional() }).optional(),
      /** A citizen applying for themselves: a phone number to reach them by. */
      phone: z.string().max(20).optional(),
    }),
    response: CaseOut,
    status: 201,
    errors: [401, 403, 404],
    auth: 'person',
    before: authenticateApplicant,
    handler: async ({ body }, request) => {
      const { applicant, phone, ...rest } = body;
      const person = people.get(request);
      let who;
      if (person?.kind === 'citizen') {
        // Never a name or number the body sets: the citizen's own, as the hub's sign-in proved them.
        if (applicant && applicant.idNumber.toUpperCase() !== person.idNumber) throw new TongbanError('CASE_FORBIDDEN', 'Applicants apply for themselves.');
        const reach = phone ?? applicant?.phone;
        who = { idNumber: person.idNumber!, name: person.name, ...(reach ? { phone: reach } : {}) };
      } else {
        if (!applicant) throw new TongbanError('VALIDATION_FAILED', 'Staff name the applicant they accept for.', { errors: [{ path: 'body.applicant', message: 'required for staff' }] });
        who = applicant;
      }
      return caseAnswer(runtime, await runtime.cases.apply(await principalOf(request), { ...rest, applicant: who }));
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/cases',
    tag: 'cases',
    summary: 'The cases the caller may see: staff, those their node takes part in; applicants, their own',
    query: z.object({
      state: CaseState.optional(),
      /** `decision`: the approver's queue, the cases this node decides that wait on it (accepted to decided). */
      queue: z.enum(['decision']).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
    }),
    response: z.object({ cases: z.array(CaseOut), total: z.number() }),
    errors: [401],
    auth: 'person',
    before: authenticate,
    handler: async ({ query }, request) => {
      const page = await runtime.cases.list(await principalOf(request), query);
      return { cases: page.cases.map(toOut), total: page.total };
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/cases/competent-nodes',
    tag: 'cases',
    summary: 'Where an application for an item can be decided: the directory’s nodes, each with the agreements in force covering the item with this node accepting and it deciding (in `mode`, if given), those first, and the services it grants this node for the item',
    query: z.object({ itemCode: z.string().min(1).max(30), mode: HandlingMode.optional() }),
    response: z.object({
      nodes: z.array(
        z.object({
          division: z.string(),
          name: z.string(),
          /** Agreements in force under which that node decides the item for applications accepted here. */
          agreements: z.array(z.string()),
          /** What that node provides this one for the item: the evidence a case can fetch there (POST /v1/cases/{id}/evidence). */
          grants: z.array(z.object({ service: z.string(), agreement: z.string(), purposes: z.array(z.string()), consentRequired: z.boolean() })),
        }),
      ),
    }),
    errors: [401, 404],
    auth: 'person',
    before: authenticate,
    handler: async ({ query }) => ({ nodes: await runtime.cases.competentNodes(query.itemCode, query.mode) }),
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/cases/:id',
    tag: 'cases',
    summary: 'One case with its remaining time (green / yellow / red); the applicant sees evidence held for their preview, with its data. Every read is audited',
    params: z.object({ id: z.string().max(60) }),
    response: CaseOut,
    errors: [401, 404],
    auth: 'person',
    before: authenticate,
    // Audited: every read of a case names its reader (case.read), a refused one too.
    handler: async ({ params }, request) => caseAnswer(runtime, await runtime.cases.read(await principalOf(request), params.id)),
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/cases/:id/actions/:action',
    tag: 'cases',
    summary: `A step of the lifecycle: ${staffCaseActionNames.join(', ')}`,
    params: z.object({ id: z.string().max(60), action: z.enum(staffCaseActionNames as [StaffCaseAction, ...StaffCaseAction[]]) }),
    query: z.object({
      version: z.coerce
        .number()
        .int()
        .min(1)
        .optional()
        .describe('The version of the case the step was decided on: at any other version it is refused (409 CASE_VERSION_CONFLICT), so of two people deciding at once exactly one wins'),
    }),
    body: ActionBody,
    response: CaseOut,
    errors: [401, 403, 404, 409],
    auth: 'person',
    before: authenticate,
    handler: async ({ params, query, body }, request) => caseAnswer(runtime, await runtime.cases.act(await principalOf(request), params.id, params.action, body, query.version)),
  });

  // Nodes only: no agreement can name the hub (its parties are approved nodes), so it fetches no evidence.
  if (runtime.config.node.role === 'node') addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/cases/:id/evidence',
    tag: 'cases',
    summary: 'Fetch the data the item needs from another node through a governed exchange (instead of papers)',
    params: z.object({ id: z.string().max(60) }),
    body: z.object({
      provider: z.string().regex(/^\d{6}$/),
      service: z.string(),
      purpose: z.string().min(1).max(100),
      fields: z.array(z.string()).min(1).optional(),
      /** The applicant's consent, where the agreement requires one: the hub's artefact (compact JWS) or its id. */
      consent: z.union([z.uuid(), ConsentArtefact]).optional(),
    }),
    response: CaseOut,
    errors: [401, 403, 404, 409, 502, 503],
    auth: 'person',
    before: authenticate,
    handler: async ({ params, body }, request) => caseAnswer(runtime, await runtime.cases.fetchEvidence(await principalOf(request), params.id, body)),
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/cases/:id/thread',
    tag: 'cases',
    summary: 'The consultation thread between staff of the nodes involved, oldest first, a page at a time (`next`: the offset of the following page, null on the last)',
    params: z.object({ id: z.string().max(60) }),
    query: Page(500, 200),
    response: z.object({ messages: z.array(ThreadMessage), next: z.number().nullable() }),
    errors: [401, 403, 404],
    auth: 'person',
    before: authenticate,
    handler: async ({ params, query }, request) => {
      // One more than asked: whether a next page exists, without a COUNT.
      const messages = await runtime.cases.thread(await principalOf(request), params.id, { limit: query.limit + 1, offset: query.offset });
      return { messages: messages.slice(0, query.limit), next: messages.length > query.limit ? query.offset + query.limit : null };
    },
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/cases/:id/thread',
    tag: 'cases',
    summary: 'Post to the thread (signed by this node); `escalation` asks a supervisor to decide beyond the agreement',
    params: z.object({ id: z.string().max(60) }),
    body: z.object({ text: z.string().min(1).max(4000), escalation: z.boolean().default(false) }),
    response: ThreadMessage,
    status: 201,
    errors: [401, 403, 404, 409],
    auth: 'person',
    before: authenticate,
    handler: async ({ params, body }, request) => runtime.cases.post(await principalOf(request), params.id, body.text, body.escalation),
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/cases/inbox',
    auth: 'node-signature',
    tag: 'cases',
    summary:
      'Node to node (older form of POST /v1/messages/inbox, same handling): a case hand-off from its accepting node, a step another participant took (replayed through the state machine), or a thread message; applied once per message id',
    bodyDoc: InboxMessage,
    raw: true,
    response: InboxAnswerOut,
    errors: [401, 403, 409, 422, 425],
    handler: async (_input, request) => runtime.messages.receive(incomingRequest(request, context.endpoint()), { legacyKinds: caseMessageKinds }),
  });

  // Server-Sent Events: what a counter's screen subscribes to.
  openapi.add({
    method: 'GET',
    url: '/v1/cases/events',
    tag: 'cases',
    summary: 'Server-Sent Events: `case` (id, state, version) for every change of a case the caller may see, `message` for thread posts (staff only)',
    response: z.string(),
    contentType: 'text/event-stream',
    status: 200,
    auth: 'person',
    errors: [401, 429, 500, 503],
  });
  const streams = new StreamLimiter(runtime.config.server.maxStreamsPerPrincipal);
  // Heartbeats keep a quiet stream inside the idle timeout.
  const heartbeatMs = Math.min(15_000, (runtime.config.server.idleTimeoutSeconds * 1000) / 2);
  app.get('/v1/cases/events', async (request, reply) => {
    const principal = await principalOf(request);
    // Before the hijack, so a refusal is still a problem+json answer (429 TOO_MANY_STREAMS).
    const release = streams.acquire(principal.id);
    reply.raw.once('close', release);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    raw.write(': connected\n\n');
    const send = (event: string, data: unknown) => raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const onChange = (c: Case) => {
      if (runtime.cases.visibleTo(principal, c)) send('case', { id: c.id, state: c.state, version: c.version, updatedAt: c.updatedAt });
    };
    const onMessage = (m: ThreadMessage) => {
      if (!isApplicant(principal)) send('message', { caseId: m.caseId, id: m.id, node: m.node, escalation: m.escalation });
    };
    runtime.cases.on('change', onChange);
    runtime.cases.on('message', onMessage);
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), heartbeatMs);
    request.raw.on('close', () => {
      clearInterval(heartbeat);
      runtime.cases.off('change', onChange);
      runtime.cases.off('message', onMessage);
    });
  });
}

export function toOut(view: CaseView) {
  return { case: view.case, time: view.time };
}

/**
 * One case as answered: with the certificate this node issued for it, if any (a node's
 * `certificates` hold only its own issuances, so only the issuing node names one). The list
 * leaves it out: one lookup per case.
 */
export async function caseAnswer(runtime: NodeRuntime, view: CaseView) {
  const certificate = runtime.config.node.role === 'node' ? await runtime.certificates.issuer.ofCase(view.case.id) : undefined;
  const c = view.case;
  // Only where the case is decided and nothing is issued yet: the approver's conclusion form.
  const form = !certificate && runtime.config.node.role === 'node' && c.competentNodes.includes(runtime.config.node.division) && !TERMINAL_STATES.has(c.state) ? certificateFormOf(c) : undefined;
  return { ...toOut(view), ...(certificate ? { certificate } : {}), ...(form ? { certificateForm: form } : {}) };
}
