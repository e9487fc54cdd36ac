import { z } from 'zod';
import {
  Agreement,
  agreementStates,
  AgreementTemplate,
  describeNegotiation,
  lifecycleActionNames,
  Negotiation,
  negotiationActionNames,
  parseDraftRequest,
  resolveTemplate,
  Round,
  standingOf,
  templateLibrary,
  type NegotiationAction,
} from '../../agreements/index.ts';
import type { ServerContext } from '../context.ts';
import { actorOf, auditActorOf, confirmBindingAct, dataAdminAuth } from '../data-admin.ts';
import { addRoute } from '../route.ts';

/** Where the agreement stands once its negotiation is active: suspended, terminated or expired since (its lifecycle at this node). */
const AgreementState = z.enum(agreementStates);
/** The party's step that suspended or terminated it (only that party can resume a suspension). */
const AgreementStateChange = z.object({ action: z.enum(lifecycleActionNames), party: z.string(), actor: z.string(), reason: z.string(), at: z.string() });
const NegotiationView = Negotiation.extend({
  agreementState: AgreementState.optional(),
  agreementStateChange: AgreementStateChange.optional(),
  parties: z.array(z.string()),
  rounds: z.array(Round.extend({ changes: z.array(z.string()) })),
  changesFromTemplate: z.array(z.string()).optional(),
});
const NegotiationSummary = z.object({
  id: z.string(),
  agreementId: z.string(),
  version: z.number(),
  convener: z.string(),
  state: z.string(),
  agreementState: AgreementState.optional(),
  agreementStateChange: AgreementStateChange.optional(),
  rounds: z.number(),
  template: z.string().nullable(),
  updatedAt: z.string(),
});
const Person = z.string().min(1).max(64).optional();
const LearningGroup = z.object({ agreements: z.number(), active: z.number(), meanRounds: z.number().nullable(), medianRounds: z.number().nullable(), medianHoursToActive: z.number().nullable() });

/** Agreement negotiation and templates on a node's operator API (docs/agreements.md). */
export function negotiationsPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  if (runtime.config.node.role !== 'node') return;
  const self = runtime.config.node.division;
  // The operator token, or a data administrator (or operations staff) of this node: the step is recorded under who took it.
  const admin = dataAdminAuth({ operatorToken: runtime.operatorToken, identity: runtime.identity, self });
  const operator = { auth: admin.auth, tag: 'operator', before: admin.before };
  // Once active, the negotiation is done: what counts is where the agreement stands in its lifecycle here.
  const standing = (n: Negotiation) => (n.state === 'active' ? standingOf(runtime.lifecycles.lifecycle(n.agreementId), n.terms, runtime.clock()) : undefined);
  const describe = (n: Negotiation) => describeNegotiation(n, standing(n));

  addRoute(app, openapi, {
    ...operator,
    method: 'GET',
    url: '/v1/operator/agreements/templates',
    summary: 'Operator or data administrator: the library of agreement templates (id, what it extends, its items)',
    response: z.array(z.object({ id: z.string(), version: z.number(), title: z.string(), description: z.string(), extends: z.string().nullable(), items: z.array(z.string()) })),
    errors: [401],
    handler: async () =>
      templateLibrary.map((t) => {
        const resolved = resolveTemplate(t.id, templateLibrary);
        return { id: t.id, version: t.version, title: t.title, description: t.description, extends: t.extends ?? null, items: resolved.items.map((i) => i.itemCode) };
      }),
  });

  addRoute(app, openapi, {
    ...operator,
    method: 'GET',
    url: '/v1/operator/agreements/templates/:id',
    summary: 'Operator or data administrator: one template with what it inherits folded in (TEMPLATE_NOT_FOUND when there is none)',
    params: z.object({ id: z.string().max(80) }),
    response: AgreementTemplate,
    errors: [401, 404],
    handler: async ({ params }) => resolveTemplate(params.id, templateLibrary),
  });

  addRoute(app, openapi, {
    ...operator,
    method: 'POST',
    url: '/v1/operator/agreements/drafts',
    status: 201,
    summary:
      'Operator or data administrator: draft an agreement with this node as convener — from terms, or by instantiating a template for partners (`template`, `params`); version n+1 of an agreement in force is an amendment',
    bodyDoc: z.union([z.object({ terms: Agreement, id: z.string().optional(), operator: Person }), z.object({ template: z.string(), params: z.unknown(), id: z.string().optional(), operator: Person })]),
    body: z.object({ operator: Person }).passthrough(),
    response: NegotiationView,
    errors: [400, 401, 403, 404, 409],
    handler: async ({ body }, request) => {
      const caller = await admin.callerOf(request);
      return describe(await runtime.negotiations.draft(parseDraftRequest(body), actorOf(caller, self, body.operator), auditActorOf(caller, self)));
    },
  });

  addRoute(app, openapi, {
    ...operator,
    method: 'GET',
    url: '/v1/operator/agreements/drafts',
    summary: 'Operator or data administrator: the negotiations this node takes part in, newest first; an active one carries where its agreement stands now (`agreementState`: suspended, terminated, expired, and the step that put it there)',
    query: z.object({ agreementId: z.string().max(80).optional() }),
    response: z.array(NegotiationSummary),
    errors: [401],
    handler: async ({ query }) =>
      (await runtime.negotiations.list(query.agreementId ? { agreementId: query.agreementId } : {})).map((n) => {
        const s = standing(n);
        return {
          id: n.id,
          agreementId: n.agreementId,
          version: n.terms.version,
          convener: n.convener,
          state: n.state,
          ...(s ? { agreementState: s.state, ...(s.change ? { agreementStateChange: s.change } : {}) } : {}),
          rounds: n.rounds.length,
          template: n.template?.id ?? null,
          updatedAt: n.updatedAt,
        };
      }),
  });

  addRoute(app, openapi, {
    ...operator,
    method: 'GET',
    url: '/v1/operator/agreements/drafts/:id',
    summary:
      "Operator or data administrator: one negotiation as this node holds it, each round with its diff against the round it answers (and against the template it came from); once active, where its agreement stands now (`agreementState`, `agreementStateChange`: who suspended or terminated it, when, why)",
    params: z.object({ id: z.string().max(100) }),
    response: NegotiationView,
    errors: [401, 404],
    handler: async ({ params }) => describe(await runtime.negotiations.get(params.id)),
  });

  addRoute(app, openapi, {
    ...operator,
    method: 'POST',
    url: '/v1/operator/agreements/drafts/:id/actions',
    summary:
      "Operator or data administrator: one step of the negotiation (edit, propose, counter, accept, sign, register, activate, abandon). At the convener it is applied and sent to every party; at another party it is checked and sent to the convener, which sequences it (`forwardedTo`). `sign` signs only the latest round this node accepted (AGREEMENT_NOT_ACCEPTED); `register` submits the signed agreement to the hub. A person signed in through the hub gives their node signing passphrase (`passphrase`) to `sign` and `register` (NODE_PASSPHRASE_REQUIRED, NODE_PASSPHRASE_INVALID)",
    params: z.object({ id: z.string().max(100) }),
    body: z.object({
      action: z.enum(negotiationActionNames as [NegotiationAction, ...NegotiationAction[]]),
      terms: Agreement.optional(),
      answers: z.number().int().min(1).optional(),
      round: z.number().int().min(1).optional(),
      hash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
      reason: z.string().max(1000).optional(),
      operator: Person,
      /** `sign` and `register` by a person signed in through the hub: their node signing passphrase (never stored or sent on). */
      passphrase: z.string().max(200).optional(),
    }),
    response: z.object({ negotiation: NegotiationView, forwardedTo: z.string().optional() }),
    errors: [400, 401, 403, 404, 409, 502, 503],
    handler: async ({ params, body }, request) => {
      const { action, operator: person, passphrase, ...input } = body;
      const caller = await admin.callerOf(request);
      if (action === 'sign' || action === 'register') await confirmBindingAct(caller, passphrase, { grants: runtime.identity.adminGrants, self, audit: runtime.audit, act: action });
      const { negotiation, forwardedTo } = await runtime.negotiations.act(params.id, action, actorOf(caller, self, person), input, auditActorOf(caller, self));
      return { negotiation: describe(negotiation), ...(forwardedTo ? { forwardedTo } : {}) };
    },
  });

  addRoute(app, openapi, {
    ...operator,
    method: 'GET',
    url: '/v1/operator/agreements/report',
    summary: 'Operator or data administrator: the learning metric — per negotiation its rounds and hours from draft to active; agreements from templates against those from scratch',
    response: z.object({
      records: z.array(z.object({ negotiation: z.string(), agreementId: z.string(), version: z.number(), origin: z.enum(['template', 'scratch']), template: z.string().optional(), state: z.string(), rounds: z.number(), draftedAt: z.string(), activeAt: z.string().optional(), hoursToActive: z.number().optional() })),
      fromTemplate: LearningGroup,
      fromScratch: LearningGroup,
    }),
    errors: [401],
    handler: async () => {
      const report = await runtime.negotiations.report();
      return { ...report, records: [...report.records] };
    },
  });
}
