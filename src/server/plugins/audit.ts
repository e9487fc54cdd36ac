import { z } from 'zod';
import { AuditEntrySchema } from '../../audit/index.ts';
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
const CheckpointClaim = z.object({ division: z.string().regex(/^\d{6}$/), seq: z.number().int().min(1), hash: z.string().regex(/^[0-9a-f]{64}$/), at: z.iso.datetime() });

/** Checkpoints witnessed by the hub; a node's own log for its operator. */
export function auditPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;

  if (runtime.config.node.role === 'hub') {
    addRoute(app, openapi, {
      method: 'POST',
      url: '/v1/audit/checkpoints',
      tag: 'audit',
      summary: "A node's signed audit chain head, for the hub to witness",
      bodyDoc: CheckpointBody,
      response: z.object({ division: z.string(), seq: z.number(), stored: z.boolean() }),
      errors: [401, 403],
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
        const stored = await runtime.store.checkpoints.add({ ...claim.data, jws: body.jws });
        return { division: claim.data.division, seq: claim.data.seq, stored };
      },
    });

    addRoute(app, openapi, {
      method: 'GET',
      url: '/v1/audit/checkpoints/:division',
      rateLimit: context.rateLimits.public,
      tag: 'audit',
      summary: "Every checkpoint the hub witnessed for a node (sequence numbers and hashes only)",
      params: z.object({ division: z.string().regex(/^\d{6}$/) }),
      response: z.object({ division: z.string(), checkpoints: z.array(Checkpoint) }),
      handler: async ({ params }) => ({ division: params.division, checkpoints: await runtime.store.checkpoints.list(params.division) }),
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
    before: (request) => requireBearer(request, runtime.operatorToken, 'operator'),
    handler: async ({ query }) => {
      return { entries: await runtime.store.audit.range(query.from, query.limit) };
    },
  });
}
