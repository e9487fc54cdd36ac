import { federationContract } from './federation-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('federation', () => federationContract('postgres'));
