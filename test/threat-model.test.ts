import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// docs/threat-model.md maps every threat to the test that proves its control. This keeps the map
// honest: every test file it names exists, and every test name it quotes is in that file.
const DOC = new URL('../docs/threat-model.md', import.meta.url);
const ROOT = new URL('..', import.meta.url);

interface Reference {
  readonly row: string;
  readonly file: string;
  readonly name: string | undefined;
}

function references(markdown: string): Reference[] {
  const found: Reference[] = [];
  for (const line of markdown.split('\n')) {
    const cells = line.split(' | ');
    if (!line.startsWith('|') || cells.length < 3 || /^\|\s*-/.test(line) || line.startsWith('| threat')) continue;
    const cell = cells.at(-1)!.replace(/\s*\|\s*$/, '');
    let file: string | undefined;
    for (const part of cell.split(/;\s+/)) {
      const match = /^((?:src\/|reliability\/)?[\w./-]+\.ts)(?::\s*(.*)|\s*\(.*\))?$/.exec(part.trim());
      if (match) {
        file = match[1]!;
        found.push({ row: cells[0]!.replace(/^\|\s*/, ''), file, name: match[2] });
      } else if (file) {
        found.push({ row: cells[0]!.replace(/^\|\s*/, ''), file, name: part.trim() });
      }
    }
  }
  return found;
}

const pathOf = (file: string) => new URL(file.startsWith('src/') ? file : `test/${file}`, ROOT);
/** The parts of a quoted name between ellipses and markdown quotes, long enough to mean something. */
const fragments = (name: string) =>
  normalise(name)
    // A closing remark in parentheses is the document's, not the test's.
    .replace(/\s+\([^()]*\)$/, '')
    .split(/…|\.\.\.|›|, (?=[A-Z_]{6,})/)
    .map((s) => s.trim().replace(/^[(,:]+|[),:]+$/g, '').trim())
    .filter((s) => s.length >= 6);
/** Quotes and code marks differ between prose and source; the words do not. */
const normalise = (text: string) => text.replace(/[’‘]/g, "'").replace(/`/g, '').replace(/\\'/g, "'");

describe('docs/threat-model.md', () => {
  const refs = references(readFileSync(DOC, 'utf8'));

  it('names a test for every threat, and there are many', () => {
    expect(refs.length).toBeGreaterThan(60);
  });

  it('every test file it names exists', () => {
    const missing = [...new Set(refs.map((r) => r.file))].filter((f) => !existsSync(pathOf(f)));
    expect(missing).toEqual([]);
  });

  it('every test name it quotes is in that file', () => {
    const wrong: string[] = [];
    for (const ref of refs) {
      if (!ref.name || !existsSync(pathOf(ref.file))) continue;
      const text = normalise(readFileSync(pathOf(ref.file), 'utf8'));
      for (const fragment of fragments(ref.name)) {
        if (!text.includes(fragment)) wrong.push(`${ref.file}: "${fragment}" (row: ${ref.row.slice(0, 60)})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
