import { messagingContract } from './messaging-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('messaging', () => messagingContract('postgres'));
