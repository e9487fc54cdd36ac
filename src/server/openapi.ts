import { z } from 'zod';
import { sessionCookieName } from '../identity/sessions.ts';
import type { RouteAuth } from './route.ts';

interface Operation {
  method: string;
  url: string;
  summary: string;
  tag: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response: z.ZodType;
  status: number;
  errors: readonly number[];
  /** Media type of the success answer (JSON unless said otherwise). */
  contentType?: string;
  /** How the caller authenticates (public when absent). */
  auth?: RouteAuth;
  /** Answers carry this node's RFC 9421 signature. */
  signedAnswer?: boolean;
  /** The success answer sets (or clears) a cookie: what it is. */
  setsCookie?: string;
}

/** Security requirement(s) of each kind of caller; `[]` is an explicitly public operation. */
const SECURITY: Record<RouteAuth, Array<Record<string, string[]>>> = {
  public: [],
  operator: [{ operatorBearer: [] }],
  admin: [{ adminBearer: [] }],
  // Any one of: the node's session cookie, a hub access token, a machine client's token.
  person: [{ sessionCookie: [] }, { hubAccessToken: [] }, { machineToken: [] }],
  // The operator token also reads metrics.
  metrics: [{ metricsBearer: [] }, { operatorBearer: [] }],
  'node-signature': [{ nodeSignature: [] }],
  'hub-signature': [{ hubSignature: [] }],
  citizen: [{ citizenAccessToken: [] }],
  // The operator token (the CLI), or a person of this node in the role dataAdmin or operator (the console).
  'data-admin': [{ operatorBearer: [] }, { sessionCookie: [] }, { hubAccessToken: [] }, { machineToken: [] }],
};

/** The reason phrase and meaning of each problem status, for components/responses. */
const PROBLEM_STATUSES: Record<number, { name: string; description: string }> = {
  400: { name: 'BadRequest', description: 'Malformed request: invalid JSON, or parameters or body not matching the schema (BAD_REQUEST, VALIDATION_FAILED, …).' },
  401: { name: 'Unauthorized', description: 'Missing or wrong credentials: bearer token, or RFC 9421 signature (UNAUTHORIZED, SIGNATURE_INVALID, REQUEST_EXPIRED, REPLAYED_REQUEST, …).' },
  403: { name: 'Forbidden', description: 'Authenticated but not allowed: outside the agreement, the role or the case (AGREEMENT_*, FIELD_NOT_GRANTED, CASE_FORBIDDEN, …).' },
  404: { name: 'NotFound', description: 'No such resource or route.' },
  409: { name: 'Conflict', description: 'The state forbids it or it contradicts what is stored (version conflicts, checkpoint conflicts, …).' },
  413: { name: 'PayloadTooLarge', description: 'The body exceeds the server body limit (PAYLOAD_TOO_LARGE).' },
  415: { name: 'UnsupportedMediaType', description: 'The body is not application/json (UNSUPPORTED_MEDIA_TYPE).' },
  429: { name: 'TooManyRequests', description: 'Rate limit or stream limit reached (RATE_LIMITED, TOO_MANY_STREAMS).' },
  500: { name: 'InternalError', description: 'An unexpected error; details are logged, never answered (INTERNAL).' },
  502: { name: 'BadGateway', description: 'A peer, a registry or the hub answered wrongly or not at all (PEER_UNREACHABLE, SERVICE_UNAVAILABLE, …).' },
  503: { name: 'ServiceUnavailable', description: 'Not ready: the database does not answer, the directory expired or is not loaded yet, or the server is closing (STORE_UNAVAILABLE, DIRECTORY_EXPIRED, DIRECTORY_UNAVAILABLE).' },
};

/**
 * Statuses any operation may answer whatever it does — an unexpected error (500), a peer, the hub or a
 * registry failing it (502, where it calls one), the database or directory unavailable or the server
 * closing (503) — documented once, as each operation's `default` response, rather than listed per operation.
 */
const OUTAGE_STATUSES: ReadonlySet<number> = new Set([500, 502, 503]);

const problemContent = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

const SIGNATURE_HEADERS = {
  'Signature-Input': 'RFC 9421 signature parameters: label `sig`, covered components (@method, @target-uri, content-digest, content-type …), created, expires, nonce, keyid (the signer key thumbprint in the directory), alg.',
  Signature: 'RFC 9421 signature value (label `sig`) by the key named in Signature-Input.',
  'Content-Digest': 'RFC 9530 digest of the body (sha-256, or sm3 for SM2 keys); covered by the signature.',
} as const;

/** Collects the routes as they are registered and renders an OpenAPI 3.1 document from their schemas. */
export class OpenApiRegistry {
  readonly #operations: Operation[] = [];

  add(operation: Operation): void {
    this.#operations.push(operation);
  }

  document(about: { title: string; version: string; description?: string; division: string }): Record<string, unknown> {
    const { division, ...info } = about;
    const paths: Record<string, Record<string, unknown>> = {};
    for (const op of this.#operations) {
      const path = op.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const parameters = [
        ...parametersOf(op.params, 'path'),
        ...parametersOf(op.query, 'query'),
      ];
      const responses: Record<string, unknown> = {
        // A redirect (sign-in) has no body: where to go is its Location.
        [String(op.status)]:
          op.status >= 300 && op.status < 400
            ? { description: 'Redirect', headers: { Location: { description: 'Where the browser goes next.', schema: { type: 'string' } }, ...(op.setsCookie ? { 'Set-Cookie': { description: op.setsCookie, schema: { type: 'string' } } } : {}) } }
            : {
                description: 'Success',
                ...(op.setsCookie ? { headers: { 'Set-Cookie': { description: op.setsCookie, schema: { type: 'string' } } } } : {}),
                content: { [op.contentType ?? 'application/json']: { schema: z.toJSONSchema(op.response, { io: 'output', unrepresentable: 'any' }) } },
              },
      };
      for (const status of op.errors.filter((s) => !OUTAGE_STATUSES.has(s))) {
        responses[String(status)] = { $ref: `#/components/responses/${PROBLEM_STATUSES[status]?.name ?? 'Problem'}` };
      }
      if (op.signedAnswer) {
        // Signed answers (success and the handler's refusals) carry the node's signature over the
        // status, the body and the request it answers (;req); transport errors (413, 415) do not.
        const headers = Object.fromEntries(Object.entries(SIGNATURE_HEADERS).map(([name, description]) => [name, { description, schema: { type: 'string' } }]));
        for (const [status, response] of Object.entries(responses)) {
          const ref = (response as { $ref?: string }).$ref;
          responses[status] = ref
            ? { description: PROBLEM_STATUSES[Number(status)]?.description ?? 'Problem', headers, content: problemContent }
            : { ...(response as object), headers };
        }
      }
      responses.default = { $ref: '#/components/responses/Outage' };
      const signed = op.auth === 'node-signature' || op.auth === 'hub-signature';
      if (signed) {
        parameters.push(
          ...Object.entries(SIGNATURE_HEADERS).map(([name, description]) => ({ name, in: 'header', required: true, description, schema: { type: 'string' } })),
        );
      }
      (paths[path] ??= {})[op.method.toLowerCase()] = {
        summary: op.summary,
        tags: [op.tag],
        security: SECURITY[op.auth ?? 'public'],
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(op.body
          ? {
              requestBody: {
                required: true,
                content: { 'application/json': { schema: z.toJSONSchema(op.body, { io: 'input', unrepresentable: 'any' }) } },
              },
            }
          : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info,
      paths,
      components: {
        schemas: {
          Problem: {
            type: 'object',
            description: 'RFC 9457 problem details with a stable Tongban error code.',
            required: ['type', 'title', 'status', 'code'],
            properties: {
              type: { type: 'string', format: 'uri' },
              title: { type: 'string' },
              status: { type: 'integer' },
              code: { type: 'string' },
              detail: { type: 'string' },
              instance: { type: 'string' },
              origin: { type: 'string', description: "Hub only: the hub's division on a refusal the hub itself made (a provider's refusals of hub-mode requests travel sealed, as 200 relay answers)." },
              errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
            },
          },
        },
        responses: {
          Problem: { description: 'Error as RFC 9457 problem details', content: problemContent },
          Outage: {
            description:
              'Any other status is an error of the server, not of the request, as RFC 9457 problem details: 500 (INTERNAL: details are logged, never answered), 502 (a peer, the hub or a registry the operation calls answered wrongly or not at all: PEER_UNREACHABLE, PEER_RESPONSE_INVALID, HUB_REFUSED, SERVICE_UNAVAILABLE, DIRECTORY_INVALID) or 503 (STORE_UNAVAILABLE, DIRECTORY_EXPIRED, DIRECTORY_UNAVAILABLE, HUB_UNREACHABLE, or the server closing): retry later. See InternalError, BadGateway and ServiceUnavailable.',
            content: problemContent,
          },
          ...Object.fromEntries(Object.values(PROBLEM_STATUSES).map(({ name, description }) => [name, { description, content: problemContent }])),
        },
        securitySchemes: {
          operatorBearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              "The node's operator token (keys/operator-token): the local operator API. The agreement, template, directory and key routes also take a person of this node in the role dataAdmin or operator (session cookie, hub access token, machine client token); anyone else authenticated is refused (403 ADMIN_ROLE_REQUIRED, or STAFF_OF_ANOTHER_NODE).",
          },
          adminBearer: { type: 'http', scheme: 'bearer', description: "The hub administrator's token (keys/admin-token, hub only): directory decisions and audit incidents." },
          sessionCookie: {
            type: 'apiKey',
            in: 'cookie',
            name: sessionCookieName(division),
            description:
              "The node's session after signing in at the hub (GET /v1/auth/login): HttpOnly, SameSite=Lax, Secure on https. Requests other than GET must also carry `Origin` equal to the node's origin or `x-tongban-csrf: 1` (else 403 CSRF_REJECTED).",
          },
          hubAccessToken: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: "An access token issued by the hub's OpenID provider, checked offline against the hub's JWKS: audience urn:tongban:federation (the person's own token, issued to the CLI) or urn:tongban:node:<this server's division> (issued to this node's client; another node's is refused, 401). Staff act at their own node only (403 STAFF_OF_ANOTHER_NODE).",
          },
          machineToken: { type: 'http', scheme: 'bearer', description: "A machine client's token at this node (POST /v1/operator/accounts): named, one staff role, revocable; never a citizen (citizens sign in at the hub)." },
          metricsBearer: { type: 'http', scheme: 'bearer', description: 'The metrics token (config metrics.tokenFile), which reads GET /metrics only; the operator token works too. With metrics.public the endpoint needs none.' },
          citizenAccessToken: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              "The data tracker (docs/tracker.md), checked offline against the hub's JWKS (<hubUrl>/oidc/jwks): a citizen's own access token (a JWT, typ at+jwt, aud urn:tongban:federation or urn:tongban:node:<this server's division>, tongban_kind citizen), or — at GET /v1/tracker/entries — the hub's tracker proof for this node (typ tongban-tracker-proof+jwt, aud urn:tongban:node:<this server's division>, at most 60 s, used once).",
          },
          nodeSignature: {
            type: 'apiKey',
            in: 'header',
            name: 'Signature',
            description:
              'HTTP Message Signatures (RFC 9421) by a node key listed in the hub directory (an enrolling or rotating node signs with the key it presents): the Signature, Signature-Input and Content-Digest (RFC 9530) headers, described as parameters of each signed operation. See docs/protocol.md.',
          },
          hubSignature: {
            type: 'apiKey',
            in: 'header',
            name: 'Signature',
            description: 'HTTP Message Signatures (RFC 9421) by the hub key pinned in the node config: relayed exchanges. Same headers as nodeSignature.',
          },
        },
      },
    };
  }
}

function parametersOf(schema: z.ZodType | undefined, location: 'path' | 'query'): unknown[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    schema: s,
  }));
}
