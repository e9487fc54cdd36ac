import { negotiationContract } from './negotiation-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('negotiation', () => negotiationContract('postgres'));
