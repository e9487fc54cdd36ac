import { randomBytes } from 'node:crypto';
import { agreementInForce, type SignedAgreement } from '../agreements/index.ts';
import type { Item } from '../catalog/index.ts';
import type { SigningKey } from '../crypto/index.ts';
import type { DirectoryEntry } from '../directory/index.ts';
import { peerCall, signedRequestHeaders, verifyResponse, type DirectorySource } from '../exchange/index.ts';
import type { Store } from '../store/index.ts';
import { TRIP_ASSUMPTION, NodeReport, type FederationReport } from './model.ts';

/** The node endpoint the hub asks for its report (signed request, signed answer). */
export const NODE_REPORT_PATH = '/v1/governance/report';
/** The window of the hub's /health probes the trust figures cover. */
export const PROBE_WINDOW_HOURS = 24;

type Status = FederationReport['sources'][number]['status'];
export interface NodeAnswer {
  readonly entry: DirectoryEntry;
  readonly status: Status;
  readonly code: string | null;
  readonly report?: NodeReport;
}

/**
 * Asks one node for its report: a request signed with the hub's key (the node answers only the
 * hub) carrying a fresh nonce; the answer must be signed by the node's directory key, bound to
 * this request, name the node and echo the nonce. Anything else is listed, never trusted.
 */
export async function askNodeReport(entry: DirectoryEntry, key: SigningKey, now: () => Date, timeoutMs = 5000): Promise<NodeAnswer> {
  const nonce = randomBytes(18).toString('base64url');
  const url = new URL(NODE_REPORT_PATH, entry.endpoint).toString();
  const body = JSON.stringify({ nonce });
  const headers = await signedRequestHeaders(key, url, body, now());
  let response;
  try {
    response = await peerCall(url, { method: 'POST', headers, body, timeoutMs });
  } catch {
    return { entry, status: 'unavailable', code: 'PEER_UNREACHABLE' };
  }
  if (response.status >= 500) return { entry, status: 'unavailable', code: codeOf(response.body) };
  // The node refused the caller (unsigned: it refuses before it signs anything).
  if (response.status === 401 || response.status === 403) return { entry, status: 'refused', code: codeOf(response.body) };
  if (!(await verifyResponse(entry, response, { method: 'POST', url, headers }, now()))) return { entry, status: 'invalid', code: 'SIGNATURE_INVALID' };
  if (response.status !== 200) return { entry, status: 'refused', code: codeOf(response.body) };
  const parsed = NodeReport.safeParse(parseJson(response.body));
  if (!parsed.success || parsed.data.node !== entry.division || parsed.data.nonce !== nonce) return { entry, status: 'invalid', code: 'PEER_RESPONSE_INVALID' };
  return { entry, status: 'ok', code: null, report: parsed.data };
}

/** An agreement counts for progress while in force: registered, begun, not expired, not suspended or terminated. */
export const inForce = agreementInForce;

/**
 * Progress against the national list (激励约束): per node, the national items an agreement in force
 * names it a party for; due items are those whose deadline has passed; the leaderboard ranks by
 * the share of due items enabled, then by items enabled. Pure.
 */
export function progressOf(nodes: readonly { division: string; name: string }[], national: readonly Item[], agreements: readonly SignedAgreement[], today: string): FederationReport['progress'] {
  const nationalCodes = new Set(national.map((i) => i.code));
  const due = national.filter((i) => i.deadline !== null && i.deadline <= today).map((i) => i.code);
  const rows = nodes.map((node) => {
    const enabled = new Set<string>();
    const perPartner = new Map<string, Set<string>>();
    for (const { agreement } of agreements) {
      if (!agreement.parties.includes(node.division)) continue;
      for (const item of agreement.items) {
        if (!nationalCodes.has(item.itemCode)) continue;
        enabled.add(item.itemCode);
        for (const partner of agreement.parties.filter((p) => p !== node.division)) (perPartner.get(partner) ?? perPartner.set(partner, new Set()).get(partner)!).add(item.itemCode);
      }
    }
    const dueEnabled = due.filter((c) => enabled.has(c)).length;
    return {
      division: node.division,
      name: node.name,
      enabled: enabled.size,
      due: due.length,
      dueEnabled,
      overdue: due.filter((c) => !enabled.has(c)),
      score: due.length === 0 ? 1 : Math.round((dueEnabled / due.length) * 1000) / 1000,
      rank: 0,
      partners: [...perPartner.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([partner, items]) => ({ partner, items: items.size })),
    };
  });
  rows.sort((a, b) => b.score - a.score || b.enabled - a.enabled || a.division.localeCompare(b.division));
  // Equal figures share a rank (1, 1, 3…).
  rows.forEach((row, i) => {
    const previous = rows[i - 1];
    row.rank = previous && previous.score === row.score && previous.enabled === row.enabled ? previous.rank : i + 1;
  });
  return { nationalItems: national.length, dueItems: due.length, nodes: rows };
}

const round2 = (x: number) => Math.round(x * 100) / 100;
function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : round2((s[mid - 1]! + s[mid]!) / 2);
}

/**
 * Organisational learning over every node's negotiations, each counted once (both parties report
 * their copy: the furthest along wins): per template, and template against scratch. Rounds and
 * time count over agreements that reached active (src/agreements/learning.ts). Pure.
 */
export function learningOf(reports: readonly NodeReport[]): FederationReport['learning'] {
  const byId = new Map<string, NodeReport['learning'][number]>();
  for (const report of reports) {
    for (const record of report.learning) {
      const seen = byId.get(record.negotiation);
      if (!seen || (seen.hoursToActive === null && record.hoursToActive !== null) || record.rounds > seen.rounds) byId.set(record.negotiation, record);
    }
  }
  const records = [...byId.values()];
  const group = (mine: typeof records) => {
    const active = mine.filter((r) => r.hoursToActive !== null);
    return { agreements: mine.length, active: active.length, medianRounds: median(active.map((r) => r.rounds)), medianHoursToActive: median(active.map((r) => r.hoursToActive!)) };
  };
  const templates = [...new Set(records.map((r) => r.template).filter((t): t is string => t !== null))].sort();
  return {
    templates: templates.map((template) => ({ template, ...group(records.filter((r) => r.template === template)) })),
    fromTemplate: group(records.filter((r) => r.origin === 'template')),
    fromScratch: group(records.filter((r) => r.origin === 'scratch')),
  };
}

export interface FederationContext {
  readonly self: string;
  /** Read only (probes, checkpoints, incidents): the hub's read replica when one is configured. */
  readonly store: Store;
  readonly directory: DirectorySource;
  readonly signingKey: SigningKey;
  readonly clock: () => Date;
  readonly national: readonly Item[];
  /** The lifecycle state of an agreement at the hub (active, suspended, terminated). */
  readonly stateOf: (agreementId: string) => string;
  readonly timeoutMs?: number;
}

/**
 * The hub's federation-wide report: every approved node asked at once (a node that does not
 * answer is listed as unavailable, with what the hub knows of it without asking: progress from
 * the agreements it registered, availability from its probes, checkpoints and incidents).
 */
export async function federationReport(ctx: FederationContext): Promise<FederationReport> {
  const now = ctx.clock();
  const view = await ctx.directory.current();
  const nodes = view.snapshot.nodes.filter((n) => n.role === 'node').sort((a, b) => a.division.localeCompare(b.division));
  const since = now.getTime() - PROBE_WINDOW_HOURS * 3_600_000;
  const [answers, probes] = await Promise.all([Promise.all(nodes.map((entry) => askNodeReport(entry, ctx.signingKey, ctx.clock, ctx.timeoutMs))), ctx.store.governance.probeSummary(since)]);
  const probeOf = new Map(probes.map((p) => [p.division, p]));
  const checkpoints = await Promise.all(nodes.map((n) => ctx.store.checkpoints.latest(n.division)));
  // Incidents per node: one page per node is enough to count those the dashboard shows (at most 1000).
  const incidents = await Promise.all(nodes.map(async (n) => (await ctx.store.incidents.list({ limit: 1000, division: n.division })).length));
  const agreements = view.snapshot.agreements.filter((a) => inForce(a, ctx.stateOf, now));
  const reports = answers.map((a) => a.report).filter((r): r is NodeReport => r !== undefined);

  return {
    at: now.toISOString(),
    hub: ctx.self,
    sources: answers.map((a) => ({ division: a.entry.division, name: a.entry.name, status: a.status, code: a.code })),
    progress: progressOf(nodes, ctx.national, agreements, now.toISOString().slice(0, 10)),
    trust: {
      windowHours: PROBE_WINDOW_HOURS,
      nodes: answers.map((a, i) => {
        const probe = probeOf.get(a.entry.division);
        const codes = new Map<string, number>();
        for (const r of a.report?.refusals ?? []) codes.set(r.code, (codes.get(r.code) ?? 0) + r.count);
        return {
          division: a.entry.division,
          name: a.entry.name,
          source: a.status,
          availability: probe && probe.probes > 0 ? Math.round((probe.ok / probe.probes) * 1000) / 1000 : null,
          probes: probe?.probes ?? 0,
          meanLatencyMs: probe?.meanLatencyMs ?? null,
          maxLatencyMs: probe?.maxLatencyMs ?? null,
          signatureFailures: a.report ? a.report.signatureFailures.reduce((s, f) => s + f.count, 0) : null,
          refusals: [...codes.entries()].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).map(([code, count]) => ({ code, count })),
          dataQuality: a.report ? a.report.dataQuality.reduce((s, f) => s + f.count, 0) : null,
          incidents: incidents[i]!,
        };
      }),
    },
    balance: {
      assumption: { ...TRIP_ASSUMPTION },
      nodes: answers.map((a) => ({
        division: a.entry.division,
        name: a.entry.name,
        source: a.status,
        acceptedForOthers: a.report ? a.report.balance.reduce((s, b) => s + b.acceptedForPartner, 0) : null,
        acceptedByOthers: a.report ? a.report.balance.reduce((s, b) => s + b.acceptedByPartner, 0) : null,
        savings: a.report?.savings ?? null,
        partners: a.report?.balance ?? [],
      })),
    },
    learning: learningOf(reports),
    audit: answers.map((a, i) => {
      const checkpoint = checkpoints[i];
      const reported = a.report?.audit.seq ?? null;
      const status =
        incidents[i]! > 0
          ? 'incident'
          : reported === null
            ? 'unknown'
            : !checkpoint
              ? 'unwitnessed'
              : reported < checkpoint.seq
                ? 'behind'
                : reported === checkpoint.seq && a.report!.audit.hash !== checkpoint.hash
                  ? 'mismatch'
                  : 'witnessed';
      return {
        division: a.entry.division,
        name: a.entry.name,
        source: a.status,
        status,
        reportedSeq: reported,
        checkpoint: checkpoint ? { seq: checkpoint.seq, at: checkpoint.at } : null,
        incidents: incidents[i]!,
      };
    }),
  };
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
