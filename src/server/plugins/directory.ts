import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuditActor } from '../../audit/index.ts';
import { EncryptionPublicJwk, PublicJwk, verifyBytes, verifyContentDigest, verifyMessage } from '../../crypto/index.ts';
import { DirectoryEntry, PreviousKey, PublishedService, RotationRequest, rotationStatuses } from '../../directory/index.ts';
import { isTongbanError, TongbanError, validationError } from '../../errors/index.ts';
import { authenticateRequest, REQUEST_COMPONENTS, REQUEST_TTL_SECONDS, SIGNATURE_LABEL } from '../../exchange/index.ts';
import type { DirectoryChangeRecord } from '../../store/index.ts';
import { incomingRequest, requireBearer } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute, Page, pageOf } from '../route.ts';

const DivisionParam = z.object({ division: z.string().regex(/^\d{6}$/) });
const Key = z.object({ kid: z.string(), jwk: PublicJwk });

/** A node as the administrator sees it: its published entry and its status. Nothing else is answered. */
export const NodeStatus = z.object({
  division: z.string(),
  name: z.string(),
  role: z.enum(['node', 'hub']),
  endpoint: z.string(),
  signingKey: Key,
  encryptionKey: z.object({ kid: z.string(), jwk: EncryptionPublicJwk }),
  services: z.array(PublishedService),
  previousKeys: z.array(PreviousKey).optional(),
  status: z.enum(['pending', 'approved', 'suspended', 'revoked']),
  enrolledAt: z.string(),
  decidedAt: z.string().nullable(),
  decidedBy: z.string().nullable(),
});
const Enrolment = NodeStatus.extend({
  /** enrolled (new, pending), updated, unchanged, or change-requested (waits for the administrator). */
  outcome: z.enum(['enrolled', 'updated', 'unchanged', 'change-requested']),
});
const ChangeRequest = z.object({
  division: z.string(),
  kind: z.enum(['update', 'rotation']),
  endpoint: z.string(),
  signingKid: z.string(),
  encryptionKid: z.string(),
  overlapSeconds: z.number().nullable(),
  requestedAt: z.string(),
  /** What is published today, to compare with. */
  current: z.object({ endpoint: z.string(), signingKid: z.string(), encryptionKid: z.string() }).nullable(),
});

const RotationStatusQuery = z.object({ kid: z.string().min(8).max(120) }).strict();
const RotationStatusAnswer = z.object({
  division: z.string(),
  kid: z.string(),
  status: z.enum(rotationStatuses),
  /** The signing key the hub publishes for the node now. */
  currentKid: z.string().nullable(),
});

/** The hub's directory: enrolment, approval by the administrator, change requests, the signed snapshot. */
export function directoryPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  if (runtime.config.node.role !== 'hub') return;
  const hub = () => {
    if (!runtime.hubDirectory) throw new TongbanError('DIRECTORY_UNAVAILABLE', 'The hub directory has not started yet.');
    return runtime.hubDirectory;
  };
  const admin = (request: FastifyRequest) => requireBearer(request, runtime.adminToken, 'hub administrator');
  /** Who the administrator routes' audit entries name: the holder of the hub's administrator token. */
  const adminActor: AuditActor = { subject: 'admin-token', node: runtime.config.node.division, role: 'administrator' };

  /** Checks the RFC 9421 signature of a directory request against one given key; the replay cache too. */
  const requireSignature = (request: FastifyRequest): void => {
    if (!request.headers['signature'] || !request.headers['signature-input']) {
      throw new TongbanError('SIGNATURE_INVALID', 'This request is signed (RFC 9421).');
    }
  };
  const verifySignedBy = async (request: FastifyRequest, key: { kid: string; jwk: PublicJwk }): Promise<void> => {
    requireSignature(request);
    const incoming = incomingRequest(request, context.endpoint());
    if (!verifyContentDigest(incoming.headers['content-digest'], incoming.body)) {
      throw new TongbanError('SIGNATURE_INVALID', 'The Content-Digest is missing or does not match the body.');
    }
    const verdict = await verifyMessage(incoming, {
      label: SIGNATURE_LABEL,
      required: REQUEST_COMPONENTS,
      now: Math.floor(context.clock().getTime() / 1000),
      maxAgeSeconds: REQUEST_TTL_SECONDS,
      resolveKey: async (kid) => (kid === key.kid ? (base, sig) => verifyBytes(key.jwk, base, sig) : null),
    });
    if (!verdict.ok) throw new TongbanError(verdict.reason === 'expired' ? 'REQUEST_EXPIRED' : 'SIGNATURE_INVALID', verdict.detail);
    if (!(await runtime.store.nonces.remember(verdict.keyid, verdict.params.nonce ?? '', (verdict.params.expires ?? 0) + 60))) {
      throw new TongbanError('REPLAYED_REQUEST', 'This request was already received.');
    }
  };

  /** Refusals of enrolments and rotations are security events: logged with the division they name. */
  const auditRefusal = async (kind: string, division: string | undefined, error: unknown, detail: Record<string, string> = {}, actor?: AuditActor) => {
    if (!isTongbanError(error)) return;
    await runtime.audit.append({ kind, outcome: 'refused', code: error.code, ...(division ? { requester: division } : {}), ...(actor ? { actor } : {}), detail: { ...detail, reason: error.message.slice(0, 300) } });
  };

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/directory/snapshot',
    tag: 'directory',
    summary: 'The signed directory snapshot (JWS): approved nodes, their keys, endpoints and services, registered agreements, expiry',
    response: z.object({ snapshot: z.string(), version: z.number(), expiresAt: z.string() }),
    errors: [429, 503],
    rateLimit: context.rateLimits.public,
    handler: async () => {
      const { jws, view } = await hub().snapshot();
      return { snapshot: jws, version: view.version, expiresAt: view.snapshot.expiresAt };
    },
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/directory/enrolments',
    auth: 'node-signature',
    tag: 'directory',
    summary:
      'A node asks to join or restates its entry, signed (RFC 9421) with the key it enrols as proof of possession. Key ids are bound to the keys (RFC 7638). A new endpoint or encryption key of an approved node becomes a change request for the administrator; a new signing key needs a rotation.',
    bodyDoc: DirectoryEntry,
    response: Enrolment,
    errors: [401, 409, 429],
    rateLimit: context.rateLimits.enrolment,
    handler: async (_input, request) => {
      // An unsigned request learns nothing about the schema; the key that verifies it is in the body.
      requireSignature(request);
      const parsed = DirectoryEntry.safeParse(request.body);
      if (!parsed.success) throw validationError(parsed.error);
      const entry = parsed.data;
      try {
        await verifySignedBy(request, entry.signingKey);
        const { record, outcome } = await hub().enrol(entry);
        await runtime.audit.append({
          kind: 'directory.enrol',
          outcome: 'received',
          requester: entry.division,
          detail: { status: record.status, outcome, endpoint: entry.endpoint, kid: entry.signingKey.kid },
        });
        return { ...NodeStatus.parse(record), outcome };
      } catch (error) {
        await auditRefusal('directory.enrol', entry.division, error, { kid: entry.signingKey.kid, endpoint: entry.endpoint });
        throw error;
      }
    },
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/directory/rotations',
    auth: 'node-signature',
    tag: 'directory',
    summary:
      'An approved node asks to replace its signing key: the request is signed (RFC 9421) with its CURRENT key, the body carries the new entry and a JWS by the NEW key over {division, previousKid, kid}. It waits for the administrator; once approved the old key stays valid for `overlapSeconds`.',
    bodyDoc: RotationRequest,
    response: ChangeRequest,
    errors: [401, 403, 409, 429],
    rateLimit: context.rateLimits.enrolment,
    handler: async (_input, request) => {
      // Authenticated first, as an approved node, before the body is read.
      const auth = await authenticateRequest(incomingRequest(request, context.endpoint()), await hub().current(), runtime.store, context.clock());
      if (!auth.ok) {
        const claimed = RotationRequest.safeParse(request.body);
        const error = new TongbanError(auth.code, auth.message);
        await auditRefusal('directory.rotation', claimed.success ? claimed.data.entry.division : undefined, error, auth.keyid ? { kid: auth.keyid } : {});
        throw error;
      }
      const parsed = RotationRequest.safeParse(request.body);
      if (!parsed.success) throw validationError(parsed.error);
      const { entry } = parsed.data;
      try {
        const existing = await runtime.store.directory.get(entry.division);
        if (!existing || existing.status === 'pending' || existing.status === 'revoked') throw new TongbanError('NODE_NOT_APPROVED', `${entry.division} has no approved entry whose key could be rotated.`);
        if (auth.node.division !== entry.division) throw new TongbanError('NOT_A_PARTY', `${auth.node.division} cannot rotate the key of ${entry.division}.`);
        const keyid = /keyid="([^"]+)"/.exec(request.headers['signature-input'] as string)?.[1] ?? '';
        const change = await hub().requestRotation(parsed.data, keyid);
        await runtime.audit.append({
          kind: 'directory.rotation',
          outcome: 'received',
          requester: entry.division,
          detail: { from: existing.signingKey.kid, to: entry.signingKey.kid, overlapSeconds: change.overlapSeconds },
        });
        return changeView(change, existing);
      } catch (error) {
        await auditRefusal('directory.rotation', entry.division, error, { to: entry.signingKey.kid });
        throw error;
      }
    },
  });

  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/directory/rotations/status',
    tag: 'directory',
    summary:
      "A node asks where its own rotation to `kid` stands, signed (RFC 9421) with its current key (or its previous key during the overlap): pending, current (approved), previous, or unknown (rejected by the administrator, or never asked for).",
    auth: 'node-signature',
    bodyDoc: RotationStatusQuery,
    response: RotationStatusAnswer,
    errors: [401, 403],
    handler: async (_input, request) => {
      // Authenticated first, as an approved node, before the body is read; a node learns only about itself.
      const auth = await authenticateRequest(incomingRequest(request, context.endpoint()), await hub().current(), runtime.store, context.clock());
      if (!auth.ok) throw new TongbanError(auth.code, auth.message);
      const parsed = RotationStatusQuery.safeParse(request.body);
      if (!parsed.success) throw validationError(parsed.error);
      const { status, currentKid } = await hub().rotationStatus(auth.node.division, parsed.data.kid);
      return { division: auth.node.division, kid: parsed.data.kid, status, currentKid };
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/directory/nodes',
    tag: 'directory',
    summary: 'Administrator: every enrolled node, its keys, endpoint, services and status',
    query: Page(1000),
    response: z.object({ nodes: z.array(NodeStatus), total: z.number() }),
    errors: [401],
    auth: 'admin',
    before: admin,
    // At most one entry per GB/T 2260 division (a few thousand): paged over the list read at once.
    handler: async ({ query }) => {
      const { page, total } = pageOf(await hub().list(), query);
      return { nodes: page.map((n) => NodeStatus.parse(n)), total };
    },
  });

  for (const action of ['approve', 'suspend', 'revoke'] as const) {
    addRoute(app, openapi, {
      method: 'POST',
      url: `/v1/directory/nodes/:division/${action}`,
      tag: 'directory',
      summary: {
        approve: 'Administrator: approve a requested (pending) or suspended node; it is published in the snapshot',
        suspend: 'Administrator: suspend an approved node; it leaves the snapshot until approved again',
        revoke: 'Administrator: revoke an approved or suspended node for good; it leaves the snapshot and cannot enrol again until its entry is removed',
      }[action],
      params: DivisionParam,
      response: NodeStatus,
      errors: [401, 403, 409],
      auth: 'admin',
      before: admin,
      handler: async ({ params }) => {
        let record;
        try {
          record = await hub().decide(params.division, action, 'hub-admin');
        } catch (error) {
          await auditRefusal('directory.decide', params.division, error, { action }, adminActor);
          throw error;
        }
        await runtime.audit.append({ kind: 'directory.decide', outcome: 'allowed', requester: params.division, actor: adminActor, detail: { action, status: record.status } });
        return NodeStatus.parse(record);
      },
    });
  }

  for (const action of ['reject', 'remove'] as const) {
    addRoute(app, openapi, {
      method: 'POST',
      url: `/v1/directory/nodes/:division/${action}`,
      tag: 'directory',
      summary:
        action === 'reject'
          ? 'Administrator: refuse a pending enrolment (it is removed; the division may enrol again)'
          : 'Administrator: remove an entry whatever its status (a squatter, a node that lost its key); it leaves the snapshot',
      params: DivisionParam,
      response: NodeStatus,
      errors: action === 'reject' ? [401, 403, 409] : [401, 403],
      auth: 'admin',
      before: admin,
      handler: async ({ params }) => {
        const record = action === 'reject' ? await hub().reject(params.division) : await hub().remove(params.division);
        await runtime.audit.append({
          kind: `directory.${action}`,
          outcome: 'allowed',
          requester: params.division,
          actor: adminActor,
          detail: { status: record.status, kid: record.signingKey.kid, endpoint: record.endpoint },
        });
        return NodeStatus.parse(record);
      },
    });
  }

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/directory/changes',
    tag: 'directory',
    summary: 'Administrator: pending change requests of approved nodes (new endpoint or encryption key, key rotations)',
    query: Page(1000),
    response: z.object({ changes: z.array(ChangeRequest), total: z.number() }),
    errors: [401],
    auth: 'admin',
    before: admin,
    // At most one pending change per approved division.
    handler: async ({ query }) => {
      const nodes = new Map((await hub().list()).map((n) => [n.division, n]));
      const { page, total } = pageOf(await hub().listChanges(), query);
      return { changes: page.map((c) => changeView(c, nodes.get(c.division))), total };
    },
  });

  for (const action of ['approve', 'reject'] as const) {
    addRoute(app, openapi, {
      method: 'POST',
      url: `/v1/directory/changes/:division/${action}`,
      tag: 'directory',
      summary: `Administrator: ${action} the pending change request of a node`,
      params: DivisionParam,
      response: ChangeRequest,
      // No 403: removing a node drops its pending change with it, so a change never outlives its node.
      errors: [401, 404],
      auth: 'admin',
      before: admin,
      handler: async ({ params }) => {
        const before = await runtime.store.directory.get(params.division);
        const change = action === 'approve' ? (await hub().approveChange(params.division, 'hub-admin')).change : await hub().rejectChange(params.division);
        await runtime.audit.append({
          kind: `directory.change.${action}`,
          outcome: 'allowed',
          requester: params.division,
          actor: adminActor,
          detail: { kind: change.kind, endpoint: change.entry.endpoint, kid: change.entry.signingKey.kid, previousKid: before?.signingKey.kid ?? null },
        });
        return changeView(change, before);
      },
    });
  }
}

function changeView(change: DirectoryChangeRecord, current: { endpoint: string; signingKey: { kid: string }; encryptionKey: { kid: string } } | undefined): z.infer<typeof ChangeRequest> {
  return {
    division: change.division,
    kind: change.kind,
    endpoint: change.entry.endpoint,
    signingKid: change.entry.signingKey.kid,
    encryptionKid: change.entry.encryptionKey.kid,
    overlapSeconds: change.overlapSeconds,
    requestedAt: change.requestedAt,
    current: current ? { endpoint: current.endpoint, signingKid: current.signingKey.kid, encryptionKid: current.encryptionKey.kid } : null,
  };
}
