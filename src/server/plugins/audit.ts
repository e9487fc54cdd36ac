import { z } from 'zod';
import { AuditEntrySchema, witnessCheckpoint } from '../../audit/index.ts';
import { verifyJws } from '../../crypto/index.ts';
import { signingKeyFor } from '../../directory/index.ts';
import { TongbanError, validationError } from '../../errors/index.ts';
import { authenticateRequest } from '../../exchange/index.ts';
import { CHECKPOINT_TYP } from '../../node/jobs.ts';
import { incomingRequest, requireBearer } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';

const CheckpointBody = z.object({ jws: z.string().max(4000) });
const Checkpoint = z.object({ division: z.string(), seq: z.number(), hash: z.string(), at: z.string(), jws: z.string() });
/** Largest page of checkpoints or incidents one call returns. */
export const MAX_CHECKPOINT_PAGE = 1000;
const PageQuery = z.object({
  /** Cursor: only those above this sequence number (the previous page's `next`). */
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_CHECKPOINT_PAGE).default(500),
});
const Incident = z.object({
  seq: z.number(),
  division: z.string(),
  kind: z.enum(['conflict', 'backwards']),
  claimedSeq: z.number(),
  claimedHash: z.string(),
  witnessedSeq: z.number(),
  witnessedHash: z.string(),
  jws: z.string(),
  at: z.string(),
});
const CheckpointClaim = z.object({ division: z.string().regex(/^\d{6}$/), seq: z.number().int().min(1), hash: z.string().regex(/^[0-9a-f]{64}$/), at: z.iso.datetime() });

/** Checkpoints witnessed by the hub; a node's own log for its operator. */
export function auditPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;

  if (runtime.config.node.role === 'hub') {
    addRoute(app, openapi, {
      method: 'POST',
      url: '/v1/audit/checkpoints',
      auth: 'node-signature',
      tag: 'audit',
      summary: "A node's signed audit chain head, for the hub to witness",
      bodyDoc: CheckpointBody,
      response: z.object({ division: z.string(), seq: z.number(), stored: z.boolean() }),
      errors: [401, 403, 409],
      handler: async (_input, request) => {
        const view = await runtime.exchange.directory.current();
        const auth = await authenticateRequest(incomingRequest(request, context.endpoint()), view, runtime.store, context.clock());
        if (!auth.ok) throw new TongbanError(auth.code, auth.message);
        const parsed = CheckpointBody.safeParse(request.body);
        if (!parsed.success) throw validationError(parsed.error);
        const body = parsed.data;
        const verified = await verifyJws(body.jws, (kid) => signingKeyFor(auth.node, kid, context.clock()));
        if (!verified.ok || verified.header.typ !== CHECKPOINT_TYP) throw new TongbanError('SIGNATURE_INVALID', 'The checkpoint is not signed by the sending node.');
        const claim = CheckpointClaim.safeParse(JSON.parse(new TextDecoder().decode(verified.payload)));
        if (!claim.success || claim.data.division !== auth.node.division) throw new TongbanError('VALIDATION_FAILED', 'The checkpoint does not name the sending node.');
        // A rewritten or truncated chain is refused (409) and recorded as an incident.
        const stored = await witnessCheckpoint(runtime.store, runtime.audit, claim.data, body.jws, context.clock);
        return { division: claim.data.division, seq: claim.data.seq, stored };
      },
    });

    addRoute(app, openapi, {
      method: 'GET',
      url: '/v1/audit/checkpoints/:division',
      rateLimit: context.rateLimits.public,
      tag: 'audit',
      summary: `The checkpoints the hub witnessed for a node, in sequence order, a page at a time (at most ${MAX_CHECKPOINT_PAGE}); \`next\` is the \`after\` of the next page, null on the last`,
      params: z.object({ division: z.string().regex(/^\d{6}$/) }),
      query: PageQuery,
      response: z.object({ division: z.string(), checkpoints: z.array(Checkpoint), next: z.number().nullable() }),
      handler: async ({ params, query }) => {
        // One row more than asked tells whether another page follows.
        const rows = await runtime.store.checkpoints.list(params.division, { after: query.after, limit: query.limit + 1 });
        const checkpoints = rows.slice(0, query.limit);
        return { division: params.division, checkpoints, next: rows.length > query.limit ? checkpoints[checkpoints.length - 1]!.seq : null };
      },
    });

    addRoute(app, openapi, {
      method: 'GET',
      url: '/v1/audit/incidents',
      tag: 'audit',
      summary: `Administrator: checkpoints the hub refused (a node's audit chain rewritten or truncated), in recording order, a page at a time (at most ${MAX_CHECKPOINT_PAGE})`,
      query: PageQuery.extend({ division: z.string().regex(/^\d{6}$/).optional() }),
      response: z.object({ incidents: z.array(Incident), next: z.number().nullable() }),
      errors: [401],
      auth: 'admin',
      before: (request) => requireBearer(request, runtime.adminToken, 'hub administrator'),
      handler: async ({ query }) => {
        const rows = await runtime.store.incidents.list({ after: query.after, limit: query.limit + 1, ...(query.division ? { division: query.division } : {}) });
        const incidents = rows.slice(0, query.limit);
        return { incidents, next: rows.length > query.limit ? incidents[incidents.length - 1]!.seq : null };
      },
    });
  }

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/operator/audit',
    tag: 'operator',
    summary: "Operator: this node's audit entries from a sequence number on",
    query: z.object({ from: z.coerce.number().int().min(1).default(1), limit: z.coerce.number().int().min(1).max(1000).default(200) }),
    response: z.object({ entries: z.array(AuditEntrySchema) }),
    errors: [401],
    auth: 'operator',
    before: (request) => requireBearer(request, runtime.operatorToken, 'operator'),
    handler: async ({ query }) => {
      return { entries: await runtime.store.audit.range(query.from, query.limit) };
    },
  });
}
