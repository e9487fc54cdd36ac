import type { FastifyRequest } from 'fastify';
import { TongbanError } from '../../errors/index.ts';
import { federatedTracker, MAX_NODE_PAGE, MAX_TRACKER_PAGE, NodeTrackerAnswer, NodeTrackerQuery, readTrackerEntries, TrackerAnswer, TrackerQuery, verifyCitizenProof, type CitizenProof } from '../../tracker/index.ts';
import { bearerToken } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';
import { sendSigned } from '../signed-reply.ts';

/**
 * The citizen's data tracker (docs/tracker.md). Every node (the hub included) answers, from its own
 * audit log, what it recorded about the citizen whose hub access token the request carries; the
 * hub asks every approved node at once and merges their signed answers. Nothing is copied anywhere.
 */
export function trackerPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  // The proof each request was authenticated with, for its handler (set in the onRequest hook).
  const proofs = new WeakMap<FastifyRequest, { token: string; proof: CitizenProof }>();
  const authenticate = async (request: FastifyRequest) => {
    const token = bearerToken(request);
    const proof = await verifyCitizenProof(token, runtime.citizenProof);
    proofs.set(request, { token: token!, proof });
  };
  const proven = (request: FastifyRequest) => {
    const found = proofs.get(request);
    if (!found) throw new TongbanError('UNAUTHORIZED', "This call needs the citizen's hub access token.");
    return found;
  };

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/tracker/entries',
    tag: 'tracker',
    summary: `Citizen: this node's audit entries about the signed-in citizen (their keyed subject hash, from the token's ID number), newest first, a page at a time (at most ${MAX_NODE_PAGE}); signed by this node and bound to the token and the caller's nonce`,
    query: NodeTrackerQuery,
    response: NodeTrackerAnswer,
    auth: 'citizen',
    signedAnswer: true,
    errors: [401, 403],
    before: authenticate,
    handler: async ({ query }, request, reply) => {
      const { proof } = proven(request);
      const answer = await readTrackerEntries({ self: runtime.config.node.division, store: runtime.store, audit: runtime.audit, auditKey: runtime.auditKey }, proof, query);
      return sendSigned(context, request, reply, 200, JSON.stringify(answer), 'application/json');
    },
  });

  if (runtime.config.node.role === 'hub') {
    addRoute(app, openapi, {
      method: 'GET',
      url: '/v1/tracker',
      tag: 'tracker',
      summary: `Citizen: every access to their data across the federation — every approved node asked at once with the citizen's token, each answer verified against the node's directory key, merged newest first (at most ${MAX_TRACKER_PAGE} a page); a node that does not answer is listed as unavailable. Nothing is stored at the hub`,
      query: TrackerQuery,
      response: TrackerAnswer,
      auth: 'citizen',
      errors: [401, 403],
      before: authenticate,
      handler: async ({ query }, request) => {
        const { token, proof } = proven(request);
        return federatedTracker({ directory: runtime.exchange.directory, clock: context.clock }, token, proof, query);
      },
    });
  }
}
