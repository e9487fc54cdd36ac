import { describe } from 'vitest';
import { replicasContract } from './replicas-contract.ts';
import { freshSqliteFile } from './support/sqlite.ts';

describe('[sqlite] replicas of one node on one database', () => replicasContract(freshSqliteFile, { dialect: 'sqlite' }));
