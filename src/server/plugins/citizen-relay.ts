import type { FastifyRequest } from 'fastify';
import { importJWK } from 'jose';
import { z } from 'zod';
import { CITIZEN_RELAY_PATH, requireRecentSignIn, consentOptions, hubRefusal, nodeOptions, previewItems, RelayRequest, relayedCitizen, type RelayCall } from '../../citizen-relay/index.ts';
import { CertificateStatus, STATUS_VALUE, WalletEntry } from '../../certificates/index.ts';
import { statusListUri } from '../../issuer/index.ts';
import { TongbanError, validationError } from '../../errors/index.ts';
import { authenticateRequest, signedRequestHeaders } from '../../exchange/index.ts';
import { ConsentGrantInput } from '../../identity/consent/index.ts';
import type { Person } from '../../identity/person.ts';
import { citizenSubjectHash, federatedTracker, mintTrackerProof, TrackerAnswer, TrackerQuery, type TrackerProofSigner } from '../../tracker/index.ts';
import { incomingRequest } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { addRoute, Page } from '../route.ts';
import { ConsentOut } from './consents.ts';

/** A wallet entry as the node shows it: with the status its issuer gives, `unknown` where this node cannot ask. */
const WalletStatus = z.union([CertificateStatus, z.literal('unknown')]);
type WalletStatus = z.infer<typeof WalletStatus>;
const MyWalletEntry = WalletEntry.extend({ status: WalletStatus });
const ConsentList = z.object({ consents: z.array(ConsentOut), total: z.number() });
const WalletPage = z.object({ certificates: z.array(WalletEntry), total: z.number() });
/** What the hub's relay answers: what the hub's own route of that call answers. */
const RelayAnswer = z.union([WalletPage, TrackerAnswer, ConsentList, ConsentOut]);

/**
 * A citizen's own hub views, through the node they signed in at (the console talks to that node
 * only). The node keeps the hub access token of the citizen's sign-in sealed in their session
 * (src/identity/sessions.ts) and relays their call to the hub's `POST /v1/citizen/relay`, signed
 * by the node; the hub accepts the token only from the node it was issued to, and answers as if
 * the citizen had called it themselves (the same services, the same refusals, the same audit).
 */
export function citizenRelayPlugin(context: ServerContext): void {
  if (context.runtime.config.node.role === 'hub') hubRoutes(context);
  else nodeRoutes(context);
}

function hubRoutes(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  const consents = runtime.consents;
  const index = runtime.certificates.index;
  if (!consents || !index) return;
  const hubTokens = runtime.identity.hubTokens;
  let signer: Promise<TrackerProofSigner> | undefined;
  const signerOf = () =>
    (signer ??= runtime.oidcKeys!().then(async (keys) => ({ key: await importJWK(keys.signing, 'EdDSA'), kid: keys.signing.kid, issuer: hubTokens.issuer, clock: context.clock })).catch((error: unknown) => {
      signer = undefined;
      throw error;
    }));

  addRoute(app, openapi, {
    method: 'POST',
    url: CITIZEN_RELAY_PATH,
    auth: 'node-signature',
    tag: 'identity',
    summary:
      "Node: a signed-in citizen's own call relayed by the node they signed in at — their wallet, data tracker, consents (list, grant, revoke) — with the hub access token the hub issued to that node's client for them (another node's token, or an expired one, is refused); answered as the hub's own routes answer the citizen",
    bodyDoc: RelayRequest,
    raw: true,
    response: RelayAnswer,
    errors: [401, 403, 404, 409, 422],
    handler: async (_input, request) => {
      const view = await runtime.exchange.directory.current();
      const auth = await authenticateRequest(incomingRequest(request, context.endpoint()), view, runtime.store, context.clock());
      if (!auth.ok) throw new TongbanError(auth.code, auth.message);
      let body: RelayRequest;
      try {
        const parsed = RelayRequest.safeParse(JSON.parse(Buffer.from(request.rawBody ?? Buffer.alloc(0)).toString('utf8')));
        if (!parsed.success) throw validationError(parsed.error);
        body = parsed.data;
      } catch (error) {
        if (error instanceof TongbanError) throw error;
        throw new TongbanError('BAD_REQUEST', 'The body is not JSON.');
      }
      const node = auth.node.division;
      let citizen;
      try {
        citizen = await relayedCitizen(body.accessToken, hubTokens, node);
        if (body.call.op === 'consent-grant') requireRecentSignIn(citizen.authTime, context.clock());
      } catch (error) {
        // A node relaying a token that is not its own citizen's (another node's, expired, staff): on record.
        if (error instanceof TongbanError) await runtime.audit.append({ kind: 'citizen.relay', outcome: 'refused', code: error.code, requester: node, detail: { op: body.call.op } });
        throw error;
      }
      const { person, proof } = citizen;
      // On the citizen's record (their tracker lists it): which node called the hub for them, for what.
      await runtime.audit.append({ kind: 'citizen.relay', outcome: 'allowed', requester: node, subjectHash: citizenSubjectHash(runtime.auditKey, proof), actor: { subject: person.subject, node, role: 'citizen' }, detail: { op: body.call.op } });
      return dispatch(body.call, person, async (query) => {
        const citizen = { ...proof, certificates: await index.idsOf(proof.idNumber) };
        const proofFor = async (division: string) => mintTrackerProof(await signerOf(), citizen, division);
        return federatedTracker({ directory: runtime.exchange.directory, clock: context.clock, proofFor }, citizen, query);
      });
    },
  });

  function dispatch(call: RelayCall, person: Person, tracker: (query: TrackerQuery) => Promise<TrackerAnswer>): Promise<z.input<typeof RelayAnswer>> {
    switch (call.op) {
      case 'wallet':
        return index!.wallet(person, call);
      case 'tracker':
        return tracker({ limit: call.limit, ...(call.cursor ? { cursor: call.cursor } : {}) });
      case 'consents':
        return consents!.list(person, call);
      case 'consent-grant':
        return consents!.grant(person, call.grant);
      case 'consent-revoke':
        return consents!.revoke(person, call.id);
    }
  }
}

function nodeRoutes(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  const identity = runtime.identity;
  const self = runtime.config.node.division;
  const hubUrl = runtime.config.hub!.url;

  // Who each request was authenticated as (onRequest: before the body is read); the handler then
  // requires a citizen with a live hub token in their session (after the body's own checks).
  const people = new WeakMap<FastifyRequest, Person>();
  const authenticate = async (request: FastifyRequest) => {
    people.set(request, await identity.authenticate(request));
  };
  const callerOf = async (request: FastifyRequest): Promise<{ person: Person; token: string }> => {
    const person = people.get(request);
    if (!person) throw new TongbanError('UNAUTHORIZED', 'Sign in at this node.');
    if (person.kind !== 'citizen') throw new TongbanError('CITIZEN_ONLY', 'These are a citizen’s own views: staff and machine clients have none.');
    const session = person.via === 'session' ? identity.sessionIdOf(request) : undefined;
    const token = session ? await identity.sessions.hubToken(session) : undefined;
    if (!token) {
      throw new TongbanError('HUB_SIGN_IN_NEEDED', person.via === 'session' ? 'Your sign-in at the hub has expired for this view: sign in again.' : 'With a hub access token, call the hub itself (GET /v1/wallet, /v1/tracker, /v1/consents); this node relays only for a browser session.');
    }
    return { person, token };
  };

  /** The call, signed by this node, to the hub's relay; the hub's refusal passed on (hubRefusal). */
  const relay = async (request: FastifyRequest, call: RelayCall): Promise<unknown> => {
    const { token } = await callerOf(request);
    const url = new URL(CITIZEN_RELAY_PATH, hubUrl).toString();
    const text = JSON.stringify({ accessToken: token, call });
    const headers = await signedRequestHeaders(runtime.keys.current(), url, text, context.clock());
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body: text, signal: AbortSignal.timeout(20_000) });
    } catch (error) {
      throw new TongbanError('HUB_UNREACHABLE', 'The hub did not answer.', { cause: error });
    }
    const json: unknown = await response.json().catch(() => undefined);
    if (!response.ok) throw hubRefusal(response.status, json);
    return json;
  };
  const answer = <T extends z.ZodType>(schema: T, value: unknown): z.output<T> => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new TongbanError('PEER_RESPONSE_INVALID', 'The hub answered in a form this node does not know.');
    return parsed.data;
  };
  const common = { auth: 'person' as const, before: authenticate, tag: 'citizen' };

  addRoute(app, openapi, {
    ...common,
    method: 'GET',
    url: '/v1/me/wallet',
    summary:
      "Citizen (signed in at this node): their certificates across the federation, from the hub's wallet, each with its status — from this node for the certificates it issued, from the issuer's public status list (verified against the issuer's key on the hub's trust list) for the others; `unknown` when that list cannot be had",
    query: Page(200, 50),
    response: z.object({ certificates: z.array(MyWalletEntry), total: z.number() }),
    errors: [401, 403],
    handler: async ({ query }, request) => {
      const wallet = answer(WalletPage, await relay(request, { op: 'wallet', ...query }));
      const ours = wallet.certificates.some((c) => c.issuer === self) ? await runtime.certificates.issuer.mine((await callerOf(request)).person, { limit: 200, offset: 0 }) : { certificates: [] };
      const own = new Map<string, WalletStatus>(ours.certificates.map((c) => [c.id, c.status]));
      const statuses = await Promise.all(wallet.certificates.map((c) => own.get(c.certificateId) ?? published(c)));
      return { certificates: wallet.certificates.map((c, i) => ({ ...c, status: statuses[i]! })), total: wallet.total };
    },
  });

  /**
   * Another issuer's certificate: its status from the issuer's status list, fetched only from the
   * issuer's endpoint in this node's own directory and trusted only when signed by the issuer's
   * current key (StatusListCache) — the hub's answer names the list, it cannot fake its content.
   */
  const published = async (c: WalletEntry): Promise<WalletStatus> => {
    if (!c.statusList) return 'unknown';
    const endpoint = (await runtime.exchange.directory.current()).node(c.issuer)?.endpoint;
    if (!endpoint) return 'unknown';
    try {
      const value = await runtime.certificates.statusLists.statusOf(statusListUri(endpoint, c.statusList.list), c.statusList.index, c.issuer);
      return value === STATUS_VALUE.valid ? 'valid' : value === STATUS_VALUE.revoked ? 'revoked' : value === STATUS_VALUE.suspended ? 'suspended' : 'unknown';
    } catch (error) {
      if (error instanceof TongbanError) return 'unknown';
      throw error;
    }
  };

  addRoute(app, openapi, {
    ...common,
    method: 'GET',
    url: '/v1/me/tracker',
    summary: "Citizen (signed in at this node): who read their data, across the federation (the hub's tracker: every node asked, those that do not answer listed as unavailable)",
    query: TrackerQuery,
    response: TrackerAnswer,
    errors: [401, 403],
    handler: async ({ query }, request) => answer(TrackerAnswer, await relay(request, { op: 'tracker', limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) })),
  });

  addRoute(app, openapi, {
    ...common,
    method: 'GET',
    url: '/v1/me/consents',
    summary: 'Citizen (signed in at this node): their consents at the hub, newest first, with their status',
    query: Page(200, 50),
    response: ConsentList,
    errors: [401, 403],
    handler: async ({ query }, request) => answer(ConsentList, await relay(request, { op: 'consents', ...query })),
  });

  addRoute(app, openapi, {
    ...common,
    method: 'POST',
    url: '/v1/me/consents',
    summary:
      "Citizen (signed in at this node): give a consent at the hub (the terms of a grant that requires it: GET /v1/me/options). Needs a password sign-in at the hub within the last 5 minutes (RECENT_SIGN_IN_REQUIRED: sign in again with GET /v1/auth/login?fresh=1)",
    body: ConsentGrantInput,
    response: ConsentOut,
    status: 201,
    errors: [401, 403, 422],
    handler: async ({ body }, request) => answer(ConsentOut, await relay(request, { op: 'consent-grant', grant: body })),
  });

  addRoute(app, openapi, {
    ...common,
    method: 'POST',
    url: '/v1/me/consents/:id/revoke',
    summary: 'Citizen (signed in at this node): revoke one of their consents at the hub',
    params: z.object({ id: z.uuid() }),
    response: ConsentOut,
    errors: [401, 403, 404],
    handler: async ({ params }, request) => answer(ConsentOut, await relay(request, { op: 'consent-revoke', id: params.id })),
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/me/options',
    tag: 'citizen',
    summary: "What a citizen's forms offer, from this node's directory: its nodes (division and name), the grants of agreements in force that need the citizen's consent (agreement, item, provider, requester, service, fields, purposes) and the items marked for preview",
    response: z.object({
      nodes: z.array(z.object({ division: z.string(), name: z.string() })),
      consentGrants: z.array(z.object({ agreementId: z.string(), itemCode: z.string(), provider: z.string(), providerName: z.string(), requester: z.string(), requesterName: z.string(), service: z.string(), fields: z.array(z.string()), purposes: z.array(z.string()) })),
      /** Items an agreement in force marks for preview (the applicant releases or refuses what is fetched). */
      previewItems: z.array(z.string()),
    }),
    errors: [401, 403],
    auth: 'person',
    before: authenticate,
    handler: async () => {
      const view = await runtime.exchange.directory.current();
      return { nodes: nodeOptions(view), consentGrants: consentOptions(view), previewItems: previewItems(view) };
    },
  });
}
