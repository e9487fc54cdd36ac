import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanPerson } from './plan.ts';

/**
 * The stamp a seeded demo folder carries (`seed.json`): written once the seed is complete, read at
 * every start (a small file: the reuse start loads nothing else of the seed).
 */
export const SEED_STAMP = 'seed.json';
/** Bumped when the seed changes in a way an existing demo folder does not have. */
export const SEED_VERSION = 1;

export interface SeedCounts {
  readonly cases: number;
  readonly byState: Readonly<Record<string, number>>;
  readonly byMode: Readonly<Record<string, number>>;
  readonly light: Readonly<Record<string, number>>;
  readonly exchanges: { readonly served: number; readonly refused: number; readonly refusedByCode: Readonly<Record<string, number>> };
  readonly negotiations: { readonly fromTemplate: number; readonly fromScratch: number; readonly byState: Readonly<Record<string, number>> };
  readonly consents: number;
  readonly certificates: number;
  readonly previews: number;
  readonly trackerReads: number;
}

export interface SeedStamp {
  readonly version: number;
  readonly seededAt: string;
  /** Seconds the seeding took (the first start). */
  readonly seconds: number;
  readonly from: string;
  readonly to: string;
  readonly citizens: ReadonlyArray<PlanPerson & { readonly node: string }>;
  readonly counts: SeedCounts;
  readonly failures: readonly string[];
}

export function readSeedStamp(dir: string): SeedStamp | undefined {
  const path = join(dir, SEED_STAMP);
  if (!existsSync(path)) return undefined;
  try {
    const stamp = JSON.parse(readFileSync(path, 'utf8')) as SeedStamp;
    return stamp.version === SEED_VERSION ? stamp : undefined;
  } catch {
    return undefined;
  }
}

