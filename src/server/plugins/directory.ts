import { z } from 'zod';
import { verifyBytes } from '../../crypto/index.ts';
import { DirectoryEntry } from '../../directory/index.ts';
import { TongbanError, validationError } from '../../errors/index.ts';
import { REQUEST_COMPONENTS, REQUEST_TTL_SECONDS, SIGNATURE_LABEL } from '../../exchange/index.ts';
import { verifyContentDigest, verifyMessage } from '../../crypto/index.ts';
import { incomingRequest, requireBearer } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';

const NodeStatus = z.object({ division: z.string(), name: z.string(), endpoint: z.string(), status: z.enum(['pending', 'approved', 'suspended']), enrolledAt: z.string(), decidedAt: z.string().nullable(), decidedBy: z.string().nullable() });

/** The hub's directory: enrolment, approval by the administrator, the signed snapshot. */
export function directoryPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  if (runtime.config.node.role !== 'hub') return;
  const hub = () => {
    if (!runtime.hubDirectory) throw new TongbanError('DIRECTORY_UNAVAILABLE', 'The hub directory has not started yet.');
    return runtime.hubDirectory;
  };

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/directory/snapshot',
    tag: 'directory',
    summary: 'The signed directory snapshot (JWS): approved nodes, their keys, endpoints and services, registered agreements, expiry',
    response: z.object({ snapshot: z.string(), version: z.number(), expiresAt: z.string() }),
    errors: [503],
    handler: async () => {
      const { jws, view } = await hub().snapshot();
      return { snapshot: jws, version: view.version, expiresAt: view.snapshot.expiresAt };
    },
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/directory/enrolments',
    tag: 'directory',
    summary: 'A node asks to join: its entry, signed (RFC 9421) with the key it enrols as proof of possession',
    bodyDoc: DirectoryEntry,
    response: NodeStatus,
    errors: [401, 409],
    handler: async (_input, request) => {
      if (!request.headers['signature'] || !request.headers['signature-input']) {
        throw new TongbanError('SIGNATURE_INVALID', 'An enrolment is signed with the key it enrols.');
      }
      const parsed = DirectoryEntry.safeParse(request.body);
      if (!parsed.success) throw validationError(parsed.error);
      const entry = parsed.data;
      const incoming = incomingRequest(request, context.endpoint());
      if (!verifyContentDigest(incoming.headers['content-digest'], incoming.body)) {
        throw new TongbanError('SIGNATURE_INVALID', 'The Content-Digest is missing or does not match the body.');
      }
      const verdict = await verifyMessage(incoming, {
        label: SIGNATURE_LABEL,
        required: REQUEST_COMPONENTS,
        now: Math.floor(context.clock().getTime() / 1000),
        maxAgeSeconds: REQUEST_TTL_SECONDS,
        resolveKey: async (kid) => (kid === entry.signingKey.kid ? (base, sig) => verifyBytes(entry.signingKey.jwk, base, sig) : null),
      });
      if (!verdict.ok) throw new TongbanError(verdict.reason === 'expired' ? 'REQUEST_EXPIRED' : 'SIGNATURE_INVALID', verdict.detail);
      if (!entry.signingKey.kid.startsWith(`${entry.division}:`)) throw new TongbanError('VALIDATION_FAILED', 'The key id must start with the division code.');
      if (!(await runtime.store.nonces.remember(verdict.keyid, verdict.params.nonce ?? '', (verdict.params.expires ?? 0) + 60))) {
        throw new TongbanError('REPLAYED_REQUEST', 'This enrolment was already received.');
      }
      const record = await hub().enrol(entry);
      await runtime.audit.append({ kind: 'directory.enrol', outcome: 'received', requester: entry.division, detail: { status: record.status, endpoint: entry.endpoint } });
      return record;
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/directory/nodes',
    tag: 'directory',
    summary: 'Administrator: every enrolled node and its status',
    response: z.object({ nodes: z.array(NodeStatus) }),
    errors: [401],
    before: (request) => requireBearer(request, runtime.adminToken, 'hub administrator'),
    handler: async () => {
      return { nodes: await hub().list() };
    },
  });

  for (const [action, status] of [
    ['approve', 'approved'],
    ['suspend', 'suspended'],
  ] as const) {
    addRoute(app, openapi, {
      method: 'POST',
      url: `/v1/directory/nodes/:division/${action}`,
      tag: 'directory',
      summary: `Administrator: ${action} a node`,
      params: z.object({ division: z.string().regex(/^\d{6}$/) }),
      response: NodeStatus,
      errors: [401, 403],
      before: (request) => requireBearer(request, runtime.adminToken, 'hub administrator'),
    handler: async ({ params }) => {
        const record = await hub().decide(params.division, status, 'hub-admin');
        await runtime.audit.append({ kind: 'directory.decide', outcome: 'allowed', requester: params.division, detail: { status } });
        return record;
      },
    });
  }
}
