import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { verifyBytes, verifyContentDigest, verifyMessage, type Component } from '../crypto/index.ts';
import { signingKeyFor, type DirectoryEntry } from '../directory/index.ts';
import { TongbanError } from '../errors/index.ts';
import type { DirectorySource } from '../exchange/index.ts';
import { peerCall, type PeerAnswer } from '../exchange/peer-http.ts';
import { REQUEST_TTL_SECONDS, SIGNATURE_LABEL } from '../exchange/protocol.ts';
import { tokenHash } from '../identity/hub-tokens.ts';
import { NodeTrackerAnswer } from './node-entries.ts';
import type { CitizenProof } from './proof.ts';
import { compareRows, TrackerRow } from './rows.ts';

/** The node endpoint the hub asks. */
export const NODE_TRACKER_PATH = '/v1/tracker/entries';
/** Largest merged page the hub answers. */
export const MAX_TRACKER_PAGE = 200;

/**
 * A node's answer to a GET carries no body digest to bind: the signature covers the status, the
 * answer's digest and type, and the request's method and path. The query is bound through the body
 * (the echoed nonce, the hash of the token).
 */
const ANSWER_COMPONENTS: readonly Component[] = [
  { name: '@status' },
  { name: 'content-digest' },
  { name: 'content-type' },
  { name: '@method', req: true },
  { name: '@path', req: true },
];

export const TrackerSource = z.object({
  division: z.string(),
  name: z.string(),
  /** ok: answered, signed and bound to this request; unavailable: did not answer in time; refused: said no; invalid: answered wrongly or unsigned. */
  status: z.enum(['ok', 'unavailable', 'refused', 'invalid']),
  code: z.string().nullable(),
  /** Rows of this page from this node. */
  entries: z.number().int(),
});
export type TrackerSource = z.infer<typeof TrackerSource>;

export const TrackerAnswer = z.object({
  /** Newest first across every node. */
  entries: z.array(TrackerRow),
  /** Every approved node of the directory and what it answered: none is silently left out. */
  sources: z.array(TrackerSource),
  /** The `cursor` of the next page, null on the last. */
  next: z.string().nullable(),
});
export type TrackerAnswer = z.infer<typeof TrackerAnswer>;

export const TrackerQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_TRACKER_PAGE).default(50),
  cursor: z.string().max(4000).optional(),
});
export type TrackerQuery = z.output<typeof TrackerQuery>;

/** Per node: the `before` to ask next (0: that node has nothing older). */
const Cursor = z.record(z.string().regex(/^\d{6}$/), z.number().int().min(0));

export function encodeCursor(cursor: Record<string, number>): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor(text: string | undefined): Record<string, number> {
  if (text === undefined) return {};
  try {
    return Cursor.parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
  } catch {
    throw new TongbanError('VALIDATION_FAILED', 'The cursor is not one this hub gave out.', { errors: [{ path: 'query.cursor', message: 'unreadable cursor' }] });
  }
}

export interface FederatedTrackerContext {
  readonly directory: DirectorySource;
  readonly clock: () => Date;
  /** A fresh tracker proof of the citizen for one node (`mintTrackerProof`): what that node is sent, instead of the citizen's token. */
  readonly proofFor: (division: string) => Promise<string>;
  /** Each node gets this long to answer (default 5 s). */
  readonly timeoutMs?: number;
}

type NodeResult = { readonly entry: DirectoryEntry; readonly status: TrackerSource['status']; readonly code: string | null; readonly answer?: NodeTrackerAnswer };

/**
 * The hub's federated query for the citizen the hub verified: every approved node of the directory
 * is asked in parallel, each with a proof minted for that node alone (never the citizen's own
 * token, which would let any node act as the citizen elsewhere); each node checks its proof and
 * computes its own subject hash; each answer must be signed by that node's directory key and bound
 * to this request; the rows are merged newest first. Nothing is stored at the hub.
 */
export async function federatedTracker(ctx: FederatedTrackerContext, citizen: CitizenProof, query: TrackerQuery): Promise<TrackerAnswer> {
  const view = await ctx.directory.current();
  const cursor = decodeCursor(query.cursor);
  const nodes = [...view.snapshot.nodes].sort((a, b) => (a.division < b.division ? -1 : 1));
  const results = await Promise.all(
    nodes.map(async (entry): Promise<NodeResult> => {
      const before = cursor[entry.division];
      // A node with nothing older on an earlier page is not asked again.
      if (before === 0) return { entry, status: 'ok', code: null, answer: { node: entry.division, nonce: null, proof: citizen.tokenHash, entries: [], next: null } };
      return askNode(ctx, entry, query.limit, before);
    }),
  );
  // A k-way merge keeps each node's rows in its own order, so every node's cursor stays a prefix.
  const queues = results.map((r) => ({ division: r.entry.division, rows: r.answer?.entries ?? [], taken: 0 }));
  const merged: TrackerRow[] = [];
  while (merged.length < query.limit) {
    let best: (typeof queues)[number] | undefined;
    for (const q of queues) {
      const head = q.rows[q.taken];
      if (head && (!best || compareRows(head, best.rows[best.taken]!) < 0)) best = q;
    }
    if (!best) break;
    merged.push(best.rows[best.taken]!);
    best.taken += 1;
  }
  const nextCursor: Record<string, number> = {};
  let more = false;
  results.forEach((r, i) => {
    const q = queues[i]!;
    const previous = cursor[r.entry.division];
    if (!r.answer) {
      // Not answered: asked again from where it stood (listed as such, never dropped).
      if (previous !== undefined) nextCursor[r.entry.division] = previous;
      return;
    }
    const next = q.taken < q.rows.length ? (q.taken === 0 ? previous : q.rows[q.taken - 1]!.seq) : (r.answer.next ?? 0);
    if (next !== undefined) nextCursor[r.entry.division] = next;
    if (next !== 0) more = true;
  });
  return {
    entries: merged,
    sources: results.map((r, i) => ({ division: r.entry.division, name: r.entry.name, status: r.status, code: r.code, entries: queues[i]!.taken })),
    next: more ? encodeCursor(nextCursor) : null,
  };
}

async function askNode(ctx: FederatedTrackerContext, entry: DirectoryEntry, limit: number, before: number | undefined): Promise<NodeResult> {
  const proof = await ctx.proofFor(entry.division);
  const nonce = randomBytes(18).toString('base64url');
  const url = new URL(NODE_TRACKER_PATH, entry.endpoint);
  url.searchParams.set('limit', String(limit));
  url.searchParams.set('nonce', nonce);
  if (before !== undefined) url.searchParams.set('before', String(before));
  let response: PeerAnswer;
  try {
    response = await peerCall(url.toString(), { method: 'GET', headers: { authorization: `Bearer ${proof}`, accept: 'application/json' }, timeoutMs: ctx.timeoutMs ?? 5000 });
  } catch {
    return { entry, status: 'unavailable', code: 'PEER_UNREACHABLE' };
  }
  if (response.status === 401 || response.status === 403) {
    // The node refused the proof (its refusals of the caller come before it signs anything).
    return { entry, status: 'refused', code: codeOf(response.body) };
  }
  if (response.status >= 500) return { entry, status: 'unavailable', code: codeOf(response.body) };
  const now = ctx.clock();
  if (!(await signedBy(entry, response, { method: 'GET', url: url.toString(), headers: {} }, now))) {
    return { entry, status: 'invalid', code: 'SIGNATURE_INVALID' };
  }
  if (response.status !== 200) return { entry, status: 'refused', code: codeOf(response.body) };
  const parsed = NodeTrackerAnswer.safeParse(parseJson(response.body));
  // Bound to this request and this citizen: the node, our nonce, the hash of its proof, only its own rows.
  if (!parsed.success || parsed.data.node !== entry.division || parsed.data.nonce !== nonce || parsed.data.proof !== tokenHash(proof) || parsed.data.entries.some((row) => row.node !== entry.division)) {
    return { entry, status: 'invalid', code: 'PEER_RESPONSE_INVALID' };
  }
  return { entry, status: 'ok', code: null, answer: parsed.data };
}

async function signedBy(signer: DirectoryEntry, response: PeerAnswer, request: { method: string; url: string; headers: Record<string, string> }, now: Date): Promise<boolean> {
  if (!verifyContentDigest(response.headers['content-digest'], response.body)) return false;
  const result = await verifyMessage(
    { status: response.status, headers: response.headers },
    {
      label: SIGNATURE_LABEL,
      required: ANSWER_COMPONENTS,
      now: Math.floor(now.getTime() / 1000),
      maxAgeSeconds: REQUEST_TTL_SECONDS,
      resolveKey: async (keyid) => {
        const jwk = signingKeyFor(signer, keyid, now);
        return jwk ? (base, signature) => verifyBytes(jwk, base, signature) : null;
      },
    },
    request,
  );
  return result.ok;
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

function codeOf(bytes: Uint8Array): string | null {
  const body = parseJson(bytes) as { code?: unknown } | null;
  return typeof body?.code === 'string' ? body.code.slice(0, 60) : null;
}
