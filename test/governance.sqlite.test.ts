import { describe } from 'vitest';
import { governanceContract } from './governance-contract.ts';
import { freshSqliteFile } from './support/sqlite.ts';

describe('[sqlite] governance aggregates', () => governanceContract(freshSqliteFile));
