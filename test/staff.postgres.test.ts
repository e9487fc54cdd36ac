import { staffContract } from './staff-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('a node operator manages staff at the hub', () => staffContract('postgres'));
