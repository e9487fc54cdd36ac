import { casesContract } from './cases-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('cases', () => casesContract('postgres'));
