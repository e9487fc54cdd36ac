import { z } from 'zod';
import { agreementStates, lifecycleActionNames } from '../../agreements/index.ts';
import { TongbanError, validationError } from '../../errors/index.ts';
import { authenticateRequest } from '../../exchange/index.ts';
import { notifyStateChange } from '../../node/index.ts';
import { incomingRequest } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { actorOf, auditActorOf, confirmBindingAct, dataAdminAuth } from '../data-admin.ts';
import { addRoute } from '../route.ts';

const IdParam = z.object({ id: z.string().min(3).max(80) });
/** A state change as a party signed it (compact JWS, typ tongban-agreement-state+jws). */
const StateChangeMessage = z.object({ change: z.string().min(20).max(8000) });
const Applied = z.object({
  agreementId: z.string(),
  seq: z.number(),
  action: z.enum(lifecycleActionNames),
  state: z.enum(agreementStates),
  party: z.string(),
  /** False when this node held the change already. */
  applied: z.boolean(),
});
const StepBody = z.object({
  reason: z.string().trim().min(1).max(500),
  /**
   * Who at this node takes the step (recorded, signed and audited with it). With the operator token, any name
   * (`operator` when absent); a person signed in is who they are (their login; another name is OPERATOR_NOT_CALLER).
   */
  actor: z.string().trim().min(1).max(100).optional(),
  /** `resume` and `terminate` by a person signed in through the hub: their node signing passphrase (never stored). */
  passphrase: z.string().max(200).optional(),
});
const Step = z.object({
  agreementId: z.string(),
  agreementVersion: z.number(),
  seq: z.number(),
  action: z.enum(lifecycleActionNames),
  from: z.enum(agreementStates),
  to: z.enum(agreementStates),
  party: z.string(),
  actor: z.string(),
  reason: z.string(),
  at: z.string(),
  /** Hash of the change before (null for the first): the changes of an agreement form a chain. */
  previous: z.string().nullable(),
  /** The signed change, as every party verifies it. */
  jws: z.string(),
  /** The hub and the other parties, told at once (status null: not reached; they learn of it from the next snapshot). */
  notified: z.array(z.object({ division: z.string(), status: z.number().nullable(), error: z.string().optional() })),
});

/**
 * The lifecycle of agreements after registration: a party's operator suspends, resumes or
 * terminates (signed by its node, refused here at once); the hub and the other parties receive
 * the signed change and apply it once they have verified it is a party's.
 */
export function agreementLifecyclePlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/agreements/:id/state',
    auth: 'node-signature',
    tag: 'agreements',
    summary:
      'A party tells this node (the hub, or another party) of a state change it took: the request is signed by that party (RFC 9421) and the change itself is a JWS by it, for the agreement in force, next in its chain. The hub records it and publishes it in its snapshot; a party applies it at once. Anything else is refused and audited.',
    params: IdParam,
    bodyDoc: StateChangeMessage,
    response: Applied,
    errors: [400, 401, 403, 409, 422],
    handler: async ({ params }, request) => {
      const view = await runtime.exchange.directory.current();
      const auth = await authenticateRequest(incomingRequest(request, context.endpoint()), view, runtime.store, context.clock());
      if (!auth.ok) throw new TongbanError(auth.code, auth.message);
      const parsed = StateChangeMessage.safeParse(request.body);
      if (!parsed.success) throw validationError(parsed.error);
      const sender = auth.node.division;
      const signed = view.agreements.find((s) => s.agreement.id === params.id);
      // The sender speaks for itself only: a party forwards its own changes, the hub forwards none.
      const refuse = async (code: 'NOT_A_PARTY' | 'AGREEMENT_STATE_INVALID', message: string) => {
        await runtime.audit.append({ kind: 'agreement.state', outcome: 'refused', code, agreementId: params.id, requester: sender, detail: { source: 'request', reason: message.slice(0, 300) } });
        return new TongbanError(code, message);
      };
      if (signed && !signed.agreement.parties.includes(sender)) throw await refuse('NOT_A_PARTY', `${sender} is not a party to agreement ${params.id}.`);
      // What the change claims, read before it is verified: it must be the sender's own, for this agreement.
      const claimed = claimsOf(parsed.data.change);
      if (claimed?.agreementId !== params.id || claimed.party !== sender) {
        throw await refuse('AGREEMENT_STATE_INVALID', `The request for ${params.id} by ${sender} does not carry a change of ${params.id} taken by ${sender}.`);
      }
      const { applied, change } = await runtime.lifecycles.receive(parsed.data.change, runtime.config.node.role === 'hub' ? 'hub' : 'peer', sender);
      return { agreementId: change.agreementId, seq: change.seq, action: change.action, state: change.to, party: change.party, applied };
    },
  });

  if (runtime.config.node.role !== 'node') return;
  const self = runtime.config.node.division;
  const admin = dataAdminAuth({ operatorToken: runtime.operatorToken, identity: runtime.identity, self });
  for (const action of lifecycleActionNames) {
    addRoute(app, openapi, {
      method: 'POST',
      url: `/v1/operator/agreements/:id/${action}`,
      tag: 'operator',
      summary:
        action === 'suspend'
          ? 'Operator or data administrator: suspend an agreement this node is a party to, at once, with a reason: refused here from the next request on; the hub and the other parties are told (signed)'
          : action === 'resume'
            ? 'Operator or data administrator: resume an agreement this node suspended (only the suspending party may); a person signed in through the hub gives their node signing passphrase (`passphrase`)'
            : 'Operator or data administrator: terminate an agreement this node is a party to (final); a person signed in through the hub gives their node signing passphrase (`passphrase`)',
      params: IdParam,
      body: StepBody,
      response: Step,
      errors: [400, 401, 403, 409],
      auth: admin.auth,
      before: admin.before,
      handler: async ({ params, body }, request) => {
        const caller = await admin.callerOf(request);
        const actor = actorOf(caller, self, body.actor).id;
        // Suspending is how a party stops sharing at once: it needs no more than the role. Resuming and terminating bind the node.
        if (action !== 'suspend') await confirmBindingAct(caller, body.passphrase, { grants: runtime.identity.adminGrants, self, audit: runtime.audit, act: action });
        const { change, jws, agreement } = await runtime.lifecycles.act(params.id, action, { actor, reason: body.reason, caller: auditActorOf(caller, self) });
        const view = await runtime.exchange.directory.current();
        const notified = await notifyStateChange(view, agreement, jws, runtime.config.node.division, runtime.signingKey, context.clock);
        return { ...change, jws, notified };
      },
    });
  }
}

function claimsOf(jws: string): { agreementId?: unknown; party?: unknown } | undefined {
  try {
    return JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as { agreementId?: unknown; party?: unknown };
  } catch {
    return undefined;
  }
}
