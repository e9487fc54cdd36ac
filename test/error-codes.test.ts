import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorStatus } from '../src/errors/index.ts';

describe('docs/errors.md', () => {
  it('lists every error code with its HTTP status, and no code the software does not have', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [m[1]!, Number(m[2])] as const);
    expect(Object.fromEntries(rows)).toEqual(errorStatus);
    expect(rows).toHaveLength(Object.keys(errorStatus).length);
  });
});
