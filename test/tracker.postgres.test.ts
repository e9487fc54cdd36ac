import { trackerContract } from './tracker-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('data tracker', () => trackerContract('postgres'));
