import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A database file in a directory of its own, removed afterwards. */
export function freshSqliteFile(): { url: string; dir: string; drop: () => Promise<void>; exec: (sql: string) => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'tongban-test-'));
  const url = join(dir, 'node.sqlite');
  return {
    url,
    dir,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
    // Writes behind the store's back, as an intruder with file access would.
    exec: async (sql: string) => {
      const db = new BetterSqlite3(url);
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    },
  };
}
