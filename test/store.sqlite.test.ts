import { describe } from 'vitest';
import { storeContract } from './store-contract.ts';
import { freshSqliteFile } from './support/sqlite.ts';

describe('[sqlite] store contract', () => storeContract(freshSqliteFile));
