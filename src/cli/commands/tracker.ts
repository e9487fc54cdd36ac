import type { Command } from 'commander';
import { TongbanError } from '../../errors/index.ts';
import { MAX_TRACKER_PAGE, type TrackerAnswer, type TrackerRow } from '../../tracker/index.ts';
import { printJson, printLines, formatTable } from '../output.ts';
import { callHub, hubTokenFor, hubUrlOf } from './hub-call.ts';

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
      const hub = hubUrlOf(options);
      // --token, TONGBAN_TOKEN, else the sign-in of `tongban login` at this hub; sent only to the hub that issued it.
      const token = await hubTokenFor(hub, options.token);

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
  const path = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
  return (await callHub(hub, token, 'GET', `/v1/tracker?${path.toString()}`)) as unknown as TrackerAnswer;
}
