import { z } from 'zod';
import { MAX_OVERLAP_SECONDS } from '../../directory/index.ts';
import { KeyStatus } from '../../node/index.ts';
import { requireBearer } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { dataAdminAuth } from '../data-admin.ts';
import { addRoute } from '../route.ts';

const RotateRequest = z
  .object({
    /** The key the operator means to replace (from GET /v1/operator/keys): a stale or repeated call cannot rotate twice. */
    currentKid: z.string().min(8).max(120),
    /** How long the hub keeps the old key valid after approval (default: the hub's, one day). */
    overlapSeconds: z.number().int().min(0).max(MAX_OVERLAP_SECONDS).optional(),
  })
  .strict();

/**
 * The operator's key rotation (nodes only; the hub's key is every node's pinned trust anchor):
 * ask the hub for a new signing key, and see where the request stands.
 */
export function keysPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  const rotation = runtime.rotation;
  if (!rotation) return;
  const operator = (request: Parameters<typeof requireBearer>[0]) => requireBearer(request, runtime.operatorToken, 'operator');
  // Reading where the keys stand is also the data administrator's (the console's enrolment view); rotating is the operator's.
  const admin = dataAdminAuth({ operatorToken: runtime.operatorToken, identity: runtime.identity, self: runtime.config.node.division });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/operator/keys/rotate',
    tag: 'operator',
    summary:
      "Operator: make a new signing key (the node's algorithm, kept in a 0600 file, never in the database) and ask the hub to rotate to it, signed with the current key. The node keeps signing with its current key until the hub administrator approves; it then switches without a restart. Asking again while it waits re-sends the same key.",
    body: RotateRequest,
    response: KeyStatus,
    errors: [401, 403, 409, 429, 502, 503],
    auth: 'operator',
    before: operator,
    handler: async ({ body }) => rotation.request(body.currentKid, body.overlapSeconds),
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/operator/keys',
    tag: 'operator',
    summary: "Operator or data administrator: this node's signing key and its latest rotation (unsent, pending, approved or rejected), asking the hub first while one is pending (rotating stays the operator's)",
    response: KeyStatus,
    errors: [401],
    auth: admin.auth,
    before: admin.before,
    handler: async () => {
      // The hub's word is fresher than the timer's; when it cannot be reached, what is known locally.
      await rotation.check(true).catch(() => undefined);
      return rotation.status();
    },
  });
}
