import type { FastifyRequest } from 'fastify';
import { importJWK } from 'jose';
import { TongbanError } from '../../errors/index.ts';
import {
  federatedTracker,
  MAX_NODE_PAGE,
  MAX_TRACKER_PAGE,
  mintTrackerProof,
  NodeTrackerAnswer,
  NodeTrackerQuery,
  readTrackerEntries,
  TrackerAnswer,
  TrackerQuery,
  verifyCitizenToken,
  verifyTrackerCaller,
  type CitizenProof,
  type TrackerProofSigner,
} from '../../tracker/index.ts';
import { bearerToken } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';
import { sendSigned } from '../signed-reply.ts';

/**
 * The citizen's data tracker (docs/tracker.md). Every node (the hub included) answers, from its own
 * audit log, what it recorded about the citizen that the hub's tracker proof for this node (or the
 * citizen's own access token) names; the hub checks the citizen's token, asks every approved node
 * at once, each with a proof minted for it alone, and merges their signed answers. Nothing is
 * copied anywhere.
 */
export function trackerPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  const self = runtime.config.node.division;
  const hubTokens = runtime.identity.hubTokens;
  // The citizen each request was authenticated as, for its handler (set in the onRequest hook).
  const citizens = new WeakMap<FastifyRequest, CitizenProof>();
  const proven = (request: FastifyRequest) => {
    const found = citizens.get(request);
    if (!found) throw new TongbanError('UNAUTHORIZED', "This call needs the citizen's hub access token.");
    return found;
  };
  const remember = (key: string, jti: string, expiresAt: number) => runtime.store.nonces.remember(key, jti, expiresAt);

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/tracker/entries',
    tag: 'tracker',
    summary: `Citizen: this node's audit entries about the signed-in citizen (their keyed subject hash, from the token's ID number), newest first, a page at a time (at most ${MAX_NODE_PAGE}); signed by this node and bound to the token and the caller's nonce. The token is the hub's tracker proof for this node (typ tongban-tracker-proof+jwt, used once) or the citizen's own access token for this node or the federation`,
    query: NodeTrackerQuery,
    response: NodeTrackerAnswer,
    auth: 'citizen',
    signedAnswer: true,
    errors: [401, 403],
    before: async (request) => {
      citizens.set(request, await verifyTrackerCaller(bearerToken(request), hubTokens, self, remember));
    },
    handler: async ({ query }, request, reply) => {
      const proof = proven(request);
      // The citizen's entries from the read replica when one is configured; the record that they looked goes to the primary (the audit log).
      const answer = await readTrackerEntries({ self, store: runtime.readStore, audit: runtime.audit, auditKey: runtime.auditKey }, proof, query);
      return sendSigned(context, request, reply, 200, JSON.stringify(answer), 'application/json');
    },
  });

  if (runtime.config.node.role === 'hub') {
    // The hub's OIDC signing key (published in its JWKS), imported once.
    let signer: Promise<TrackerProofSigner> | undefined;
    const signerOf = () =>
      (signer ??= runtime.oidcKeys!().then(async (keys) => ({ key: await importJWK(keys.signing, 'EdDSA'), kid: keys.signing.kid, issuer: hubTokens.issuer, clock: context.clock })).catch((error: unknown) => {
        signer = undefined;
        throw error;
      }));
    addRoute(app, openapi, {
      method: 'GET',
      url: '/v1/tracker',
      tag: 'tracker',
      summary: `Citizen: every access to their data across the federation — every approved node asked at once, each with a proof of the citizen minted for it alone (never the citizen's token), each answer verified against the node's directory key, merged newest first (at most ${MAX_TRACKER_PAGE} a page); a node that does not answer is listed as unavailable. Nothing is stored at the hub`,
      query: TrackerQuery,
      response: TrackerAnswer,
      auth: 'citizen',
      errors: [401, 403],
      before: async (request) => {
        citizens.set(request, await verifyCitizenToken(bearerToken(request), hubTokens, self));
      },
      handler: async ({ query }, request) => {
        // The citizen's certificates from the hub's index: nodes read what they filed under those too.
        const certificates = (await runtime.certificates.index?.idsOf(proven(request).idNumber)) ?? [];
        const citizen = { ...proven(request), certificates };
        const proofFor = async (division: string) => mintTrackerProof(await signerOf(), citizen, division);
        return federatedTracker({ directory: runtime.exchange.directory, clock: context.clock, proofFor }, citizen, query);
      },
    });
  }
}
