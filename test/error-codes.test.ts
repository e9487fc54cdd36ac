import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorStatus, toProblem } from '../src/errors/index.ts';

describe('docs/errors.md', () => {
  it('lists every error code with its HTTP status, and no code the software does not have', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [m[1]!, Number(m[2])] as const);
    expect(Object.fromEntries(rows)).toEqual(errorStatus);
    expect(rows).toHaveLength(Object.keys(errorStatus).length);
  });

  it('titles read as words, abbreviations kept as they are written', () => {
    expect(toProblem('CASE_NOT_FOUND', 'x').title).toBe('Case not found');
    expect(toProblem('CSRF_REJECTED', 'x').title).toBe('CSRF rejected');
    expect(toProblem('KEY_ID_MISMATCH', 'x').title).toBe('Key ID mismatch');
  });
});
