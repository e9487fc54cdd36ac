import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { nationalItems } from '../../catalog/index.ts';
import { verifyBytes, verifyContentDigest, verifyMessage, type Component } from '../../crypto/index.ts';
import { signingKeyFor } from '../../directory/index.ts';
import { TongbanError } from '../../errors/index.ts';
import { authenticateRequest, peerCall } from '../../exchange/index.ts';
import { REQUEST_TTL_SECONDS, SIGNATURE_LABEL } from '../../exchange/protocol.ts';
import { FederationReport, federationReport, NODE_REPORT_PATH, nodeReport, NodeReport, PROBE_WINDOW_HOURS, probeNodes } from '../../governance/index.ts';
import type { Person } from '../../identity/person.ts';
import { incomingRequest } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';
import { sendSigned } from '../signed-reply.ts';

/** Who sees the governance dashboards at a node: its supervisors and data administrators (and their machine clients). */
export const GOVERNANCE_ROLES: readonly string[] = ['supervisor', 'dataAdmin'];
/** The hub recomputes its published report at most this often: a public route must not make it ask every node on every call. */
export const FEDERATION_REPORT_TTL_MS = 30_000;
export const FEDERATION_REPORT_PATH = '/v1/governance/federation';

/** The hub's answer to a GET: no request digest to bind, so method and path (as the tracker's answers). */
const HUB_ANSWER_COMPONENTS: readonly Component[] = [{ name: '@status' }, { name: 'content-digest' }, { name: 'content-type' }, { name: '@method', req: true }, { name: '@path', req: true }];

/**
 * The governance dashboards (docs/governance.md). A node computes its own figures (counts from
 * its store, never rows) and answers them to the hub — whose signed request alone it accepts —
 * and to its own supervisors and data administrators, to whom it also relays the hub's published
 * report after checking the hub's signature (the console talks only to the server that served it).
 * The hub publishes the federation-wide report: aggregates only, no personal data, so it is
 * public (a leaderboard is published to be read); it is recomputed at most every 30 s.
 */
export function governancePlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  const self = runtime.config.node.division;
  const learning = async () => (await runtime.negotiations.report()).records;

  if (runtime.config.node.role === 'node') {
    const people = new WeakMap<FastifyRequest, Person>();
    const governanceStaff = async (request: FastifyRequest) => {
      const person = await runtime.identity.authenticate(request);
      if (person.kind === 'citizen' || person.node !== self || !person.roles.some((r) => GOVERNANCE_ROLES.includes(r))) {
        throw new TongbanError('GOVERNANCE_FORBIDDEN', `The governance figures of ${self} are for its supervisors and data administrators.`);
      }
      people.set(request, person);
    };

    addRoute(app, openapi, {
      method: 'POST',
      url: NODE_REPORT_PATH,
      auth: 'hub-signature',
      signedAnswer: true,
      raw: true,
      tag: 'governance',
      summary:
        "Hub: this node's governance figures — cases per state, workload balance per partner, trips and days saved, exchange refusals per partner and code, signature failures, data-quality findings, its audit head, its negotiations — counts only, no personal data; signed and bound to the hub's request and nonce",
      bodyDoc: z.object({ nonce: z.string() }),
      response: NodeReport,
      errors: [401, 403, 409],
      handler: async (_input, request, reply) => {
        const view = await runtime.exchange.directory.current();
        const auth = await authenticateRequest(incomingRequest(request, context.endpoint()), view, runtime.store, context.clock());
        if (!auth.ok) throw new TongbanError(auth.code, auth.message);
        if (auth.node.division !== view.hub()?.division) throw new TongbanError('GOVERNANCE_FORBIDDEN', 'Only the hub is answered this report.');
        const parsed = z.object({ nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/) }).safeParse(parseJson(request.rawBody));
        if (!parsed.success) throw new TongbanError('VALIDATION_FAILED', 'The body must be {"nonce": "<16 to 64 base64url characters>"}.');
        const report = await nodeReport({ self, store: runtime.store, reads: runtime.readStore, clock: context.clock, learning }, parsed.data.nonce);
        return sendSigned(context, request, reply, 200, JSON.stringify(report), 'application/json');
      },
    });

    addRoute(app, openapi, {
      method: 'GET',
      url: '/v1/governance/node',
      auth: 'person',
      tag: 'governance',
      summary: "Supervisor or data administrator of this node: this node's own governance figures (what it answers the hub)",
      response: NodeReport,
      errors: [401, 403],
      before: governanceStaff,
      handler: async () => nodeReport({ self, store: runtime.store, reads: runtime.readStore, clock: context.clock, learning }),
    });

    addRoute(app, openapi, {
      method: 'GET',
      url: FEDERATION_REPORT_PATH,
      auth: 'person',
      tag: 'governance',
      summary:
        "Supervisor or data administrator of this node: the hub's published federation report, fetched by this node and checked against the hub's directory key (HUB_UNREACHABLE when the hub does not answer, PEER_RESPONSE_INVALID when the answer is not signed by it)",
      response: FederationReport,
      errors: [401, 403],
      before: governanceStaff,
      handler: async () => {
        const view = await runtime.exchange.directory.current();
        const hub = view.hub();
        if (!hub) throw new TongbanError('DIRECTORY_INVALID', 'The directory does not list the hub.');
        const url = new URL(FEDERATION_REPORT_PATH, hub.endpoint).toString();
        let answer;
        try {
          answer = await peerCall(url, { method: 'GET', headers: { accept: 'application/json' }, timeoutMs: 15_000 });
        } catch {
          throw new TongbanError('HUB_UNREACHABLE', 'The hub did not answer for its governance report.');
        }
        const now = context.clock();
        const signed =
          verifyContentDigest(answer.headers['content-digest'], answer.body) &&
          (
            await verifyMessage(
              { status: answer.status, headers: answer.headers },
              {
                label: SIGNATURE_LABEL,
                required: HUB_ANSWER_COMPONENTS,
                now: Math.floor(now.getTime() / 1000),
                maxAgeSeconds: REQUEST_TTL_SECONDS,
                resolveKey: async (kid) => {
                  const jwk = signingKeyFor(hub, kid, now);
                  return jwk ? (base, signature) => verifyBytes(jwk, base, signature) : null;
                },
              },
              { method: 'GET', url, headers: {} },
            )
          ).ok;
        if (!signed) throw new TongbanError('PEER_RESPONSE_INVALID', "The hub's governance report is not signed by the hub's directory key.");
        if (answer.status !== 200) throw new TongbanError('HUB_REFUSED', `The hub refused its governance report (${answer.status}).`);
        const parsed = FederationReport.safeParse(parseJson(answer.body));
        if (!parsed.success || parsed.data.hub !== hub.division) throw new TongbanError('PEER_RESPONSE_INVALID', "The hub's governance report is not in the expected form.");
        return parsed.data;
      },
    });
  }

  if (runtime.config.node.role === 'hub') {
    let cached: { at: number; body: Promise<string> } | undefined;
    const compute = async () => {
      const ctx = { self, store: runtime.store, directory: runtime.exchange.directory, clock: context.clock };
      // Nodes never probed in the window are probed first, so a fresh hub reports availability at once.
      const view = await runtime.exchange.directory.current();
      const probed = new Set((await runtime.readStore.governance.probeSummary(context.clock().getTime() - PROBE_WINDOW_HOURS * 3_600_000)).map((p) => p.division));
      if (view.snapshot.nodes.some((n) => n.role === 'node' && !probed.has(n.division))) await probeNodes(ctx);
      // Agreements in force by the states the hub's database holds (another hub replica may have recorded one).
      await runtime.lifecycles.refresh();
      // The aggregates from the read replica, when there is one (probes are written above, to the primary).
      const report = await federationReport({ ...ctx, store: runtime.readStore, signingKey: runtime.signingKey, national: nationalItems, stateOf: (id) => runtime.lifecycles.stateOf(id) });
      return JSON.stringify(report);
    };
    addRoute(app, openapi, {
      method: 'GET',
      url: FEDERATION_REPORT_PATH,
      tag: 'governance',
      rateLimit: context.rateLimits.public,
      signedAnswer: true,
      summary: `The federation's governance report the hub publishes (aggregates only, no personal data): progress of every approved node against the national item list and its deadlines with a leaderboard, trust (availability and latency from the hub's /health probes over ${PROBE_WINDOW_HOURS} h, signature failures, refusals per code, data-quality findings, audit incidents), workload balance and trips saved, learning (agreements per template, rounds and time to agreement), audit (each chain's last witnessed checkpoint). Every node is asked (signed request, signed answer); one that does not answer is listed as unavailable. Recomputed at most every ${FEDERATION_REPORT_TTL_MS / 1000} s`,
      response: FederationReport,
      handler: async (_input, request, reply) => {
        const now = Date.now();
        if (!cached || now - cached.at > FEDERATION_REPORT_TTL_MS) {
          const body = compute();
          cached = { at: now, body };
          // A failed computation is not kept: the next call tries again.
          body.catch(() => {
            if (cached?.body === body) cached = undefined;
          });
        }
        return sendSigned(context, request, reply, 200, await cached.body, 'application/json');
      },
    });
  }
}

function parseJson(bytes: Uint8Array | Buffer | undefined): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes ?? new Uint8Array()));
  } catch {
    return null;
  }
}
