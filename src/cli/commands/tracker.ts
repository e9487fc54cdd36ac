import type { Command } from 'commander';
import { decodeJwt } from 'jose';
import { TongbanError } from '../../errors/index.ts';
import { issuerOf } from '../../identity/hub-tokens.ts';
import { MAX_TRACKER_PAGE, type TrackerAnswer, type TrackerRow } from '../../tracker/index.ts';
import { currentLogin, TokenFile, tokenFilePath } from '../login/index.ts';
import { printJson, printLines, formatTable, Refusal } from '../output.ts';
import { endpointOf, locateNode } from './locate.ts';

interface TrackerOptions {
  hub?: string;
  token?: string;
  federation: string;
  limit: string;
  all?: boolean;
  cursor?: string;
  json?: boolean;
}

/** What the tracker's table says for an entry kind. */
const WHAT: Record<string, string> = {
  'exchange.request': 'asked for',
  'exchange.provide': 'answered',
  'exchange.relay': 'relayed',
  'tracker.read': 'you looked',
};

export function trackerCommand(program: Command): void {
  program
    .command('tracker')
    .description('a citizen: every access to your data across the federation, from every node\'s audit log (sign in at the hub first)')
    .option('--hub <url>', "the hub's URL (default: the hub of the federation folder)")
    .option('--token <token>', 'your hub access token (or TONGBAN_TOKEN; default: your sign-in of tongban login)')
    .option('--federation <dir>', 'federation folder (to find the hub when --hub is not given)', 'var/demo')
    .option('--limit <n>', `entries per page (1–${MAX_TRACKER_PAGE})`, '50')
    .option('--all', 'follow every page to the end')
    .option('--cursor <cursor>', 'start at this page (the "next" of an earlier answer)')
    .option('--json', 'print JSON')
    .action(async (options: TrackerOptions) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TRACKER_PAGE) throw new TongbanError('VALIDATION_FAILED', `--limit must be a whole number from 1 to ${MAX_TRACKER_PAGE}.`);
      const hub = (options.hub ?? endpointOf(locateNode(options.federation, 'hub'))).replace(/\/+$/, '');
      // --token, TONGBAN_TOKEN, else the sign-in of `tongban login` at this hub (renewed when it has expired).
      const token = options.token || process.env.TONGBAN_TOKEN || (await currentLogin(new TokenFile(tokenFilePath()), hub, () => new Date())).login.accessToken;
      // The token goes only to the hub that issued it: never handed to a server named by mistake.
      let issuer: unknown;
      try {
        issuer = decodeJwt(token).iss;
      } catch {
        throw new TongbanError('UNAUTHORIZED', 'The token is not a hub access token (a JWT); sign in at the hub again.');
      }
      if (issuer !== issuerOf(hub)) throw new TongbanError('UNAUTHORIZED', `The token was issued by ${String(issuer)}, not by the hub at ${hub}: it is not sent there.`);

      const pages: TrackerAnswer[] = [];
      let cursor = options.cursor;
      do {
        const page = await fetchPage(hub, token, limit, cursor);
        pages.push(page);
        cursor = page.next ?? undefined;
      } while (options.all && cursor);
      const entries = pages.flatMap((p) => p.entries);
      const sources = pages[pages.length - 1]!.sources;
      const next = pages[pages.length - 1]!.next;
      if (options.json) {
        printJson({ entries, sources, next });
        return;
      }
      printLines(entries.length === 0 ? ['(no access to your data is recorded)'] : formatTable(['when', 'node', 'who', 'what', 'purpose', 'agreement', 'outcome'], entries.map(row)));
      const missing = sources.filter((s) => s.status !== 'ok');
      for (const s of missing) process.stderr.write(`tongban: ${s.division} ${s.name} ${s.status === 'unavailable' ? 'did not answer' : s.status === 'refused' ? 'refused' : 'answered wrongly'}${s.code ? ` (${s.code})` : ''}: its accesses are not listed.\n`);
      if (next) printLines([`more: tongban tracker --hub ${hub} --cursor ${next}`]);
    });
}

function row(e: TrackerRow): string[] {
  const what = [WHAT[e.kind] ?? e.kind, e.service, e.fields.length > 0 ? `(${e.fields.join(', ')})` : undefined].filter(Boolean).join(' ');
  const who = e.role ?? (e.kind.startsWith('exchange.') ? `node ${e.requester ?? '?'}` : e.kind === 'tracker.read' ? 'you' : '-');
  const outcome = e.code ? `${e.outcome} (${e.code})` : e.outcome;
  return [e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), e.node, who, what, e.purpose ?? '-', e.agreementId ?? '-', outcome];
}

async function fetchPage(hub: string, token: string, limit: number, cursor: string | undefined): Promise<TrackerAnswer> {
  const url = new URL('/v1/tracker', hub);
  url.searchParams.set('limit', String(limit));
  if (cursor) url.searchParams.set('cursor', cursor);
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) });
  } catch {
    throw new TongbanError('HUB_UNREACHABLE', `The hub at ${hub} does not answer.`);
  }
  let json: Record<string, unknown>;
  try {
    json = (await response.json()) as Record<string, unknown>;
  } catch {
    throw new TongbanError('PEER_RESPONSE_INVALID', `The server at ${hub} did not answer as a Tongban hub (HTTP ${response.status}).`);
  }
  if (!response.ok) throw new Refusal(typeof json.code === 'string' ? json.code : `HTTP_${response.status}`, response.status, typeof json.detail === 'string' ? json.detail : `The hub answered ${response.status}.`);
  return json as unknown as TrackerAnswer;
}
