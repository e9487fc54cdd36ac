import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A database file in a directory of its own, removed afterwards. */
export function freshSqliteFile(): { url: string; dir: string; drop: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'tongban-test-'));
  return { url: join(dir, 'node.sqlite'), dir, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}
