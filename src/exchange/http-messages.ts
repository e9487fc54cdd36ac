import { randomBytes } from 'node:crypto';
import {
  contentDigest,
  signBytes,
  signMessage,
  verifyBytes,
  verifyContentDigest,
  verifyMessage,
  type SignedMessage,
  type SigningKey,
} from '../crypto/index.ts';
import { signingKeyFor, type DirectoryEntry, type DirectoryView } from '../directory/snapshot.ts';
import type { ErrorCode } from '../errors/index.ts';
import type { Store } from '../store/index.ts';
import { httpSignatureAlg, REQUEST_COMPONENTS, REQUEST_TTL_SECONDS, RESPONSE_COMPONENTS, SIGNATURE_LABEL } from './protocol.ts';

/** Headers for a signed JSON request to `url` carrying `body`. */
export async function signedRequestHeaders(key: SigningKey, url: string, body: string, now: Date): Promise<Record<string, string>> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-digest': contentDigest(body) };
  const created = Math.floor(now.getTime() / 1000);
  const signature = await signMessage(
    { method: 'POST', url, headers },
    {
      label: SIGNATURE_LABEL,
      components: REQUEST_COMPONENTS,
      params: {
        created,
        expires: created + REQUEST_TTL_SECONDS,
        nonce: randomBytes(16).toString('base64url'),
        keyid: key.kid,
        alg: httpSignatureAlg(key.algorithm),
      },
      sign: (base) => signBytes(key, base),
    },
  );
  return { ...headers, ...signature };
}

export interface IncomingRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Uint8Array;
}

export type RequestCheck =
  | { readonly ok: true; readonly node: DirectoryEntry; readonly keyid: string; readonly nonce: string; readonly expires: number }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string; readonly keyid?: string };

/**
 * Authenticates a node-to-node request: body digest, RFC 9421 signature by a key of an
 * approved node in the directory, freshness, and a nonce never seen before.
 */
export async function authenticateRequest(request: IncomingRequest, view: DirectoryView, store: Store, now: Date): Promise<RequestCheck> {
  if (!verifyContentDigest(request.headers['content-digest'], request.body)) {
    return { ok: false, code: 'SIGNATURE_INVALID', message: 'The Content-Digest is missing or does not match the body.' };
  }
  const result = await verifyMessage(request, {
    label: SIGNATURE_LABEL,
    required: REQUEST_COMPONENTS,
    now: Math.floor(now.getTime() / 1000),
    maxAgeSeconds: REQUEST_TTL_SECONDS,
    resolveKey: async (keyid, alg) => {
      // The node's current key, or its previous key during a rotation's overlap.
      const found = view.keyByKid(keyid, now);
      if (!found || (alg !== undefined && alg !== httpSignatureAlg(found.jwk.kty === 'OKP' ? 'Ed25519' : 'SM2'))) return null;
      return (base, signature) => verifyBytes(found.jwk, base, signature);
    },
  });
  if (!result.ok) {
    const code: ErrorCode =
      result.reason === 'unknown-key' ? 'NODE_UNKNOWN' : result.reason === 'expired' || result.reason === 'not-yet-valid' ? 'REQUEST_EXPIRED' : 'SIGNATURE_INVALID';
    return { ok: false, code, message: result.detail, ...(result.keyid ? { keyid: result.keyid } : {}) };
  }
  const node = view.nodeByKid(result.keyid, now)!;
  const { nonce, expires } = result.params;
  if (!nonce || expires === undefined) {
    return { ok: false, code: 'SIGNATURE_INVALID', message: 'Requests must carry a nonce and an expiry.', keyid: result.keyid };
  }
  // Freshness: a window longer than allowed is refused like an expired one (docs/protocol.md).
  if (expires - result.params.created > REQUEST_TTL_SECONDS) {
    return { ok: false, code: 'REQUEST_EXPIRED', message: `Requests must expire within ${REQUEST_TTL_SECONDS} s of their creation.`, keyid: result.keyid };
  }
  if (!(await store.nonces.remember(result.keyid, nonce, expires + 60))) {
    return { ok: false, code: 'REPLAYED_REQUEST', message: 'This request was already received.', keyid: result.keyid };
  }
  return { ok: true, node, keyid: result.keyid, nonce, expires };
}

/** Signature headers for a JSON response, bound to the request it answers. */
export async function signedResponseHeaders(
  key: SigningKey,
  response: { status: number; contentType: string; body: string },
  request: SignedMessage,
  now: Date,
): Promise<Record<string, string>> {
  const headers = { 'content-type': response.contentType, 'content-digest': contentDigest(response.body) };
  // A request that came without a digest cannot be bound by it (it is refused anyway).
  const components = request.headers['content-digest'] ? RESPONSE_COMPONENTS : RESPONSE_COMPONENTS.filter((c) => !(c.req && c.name === 'content-digest'));
  const signature = await signMessage(
    { status: response.status, headers },
    {
      label: SIGNATURE_LABEL,
      components,
      params: { created: Math.floor(now.getTime() / 1000), keyid: key.kid, alg: httpSignatureAlg(key.algorithm) },
      sign: (base) => signBytes(key, base),
    },
    request,
  );
  return { ...headers, ...signature };
}

/** Checks that a response was signed by `signer` for this very request. */
export async function verifyResponse(
  signer: DirectoryEntry,
  response: { status: number; headers: Readonly<Record<string, string | undefined>>; body: Uint8Array },
  request: SignedMessage,
  now: Date,
): Promise<boolean> {
  if (!verifyContentDigest(response.headers['content-digest'], response.body)) return false;
  const result = await verifyMessage(
    { status: response.status, headers: response.headers },
    {
      label: SIGNATURE_LABEL,
      required: RESPONSE_COMPONENTS,
      now: Math.floor(now.getTime() / 1000),
      maxAgeSeconds: REQUEST_TTL_SECONDS,
      resolveKey: async (keyid) => {
        const jwk = signingKeyFor(signer, keyid, now);
        return jwk ? (base, sig) => verifyBytes(jwk, base, sig) : null;
      },
    },
    request,
  );
  return result.ok;
}
