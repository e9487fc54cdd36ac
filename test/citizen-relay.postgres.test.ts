import { citizenRelayContract } from './citizen-relay-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('a citizen’s hub views relayed by their node', () => citizenRelayContract('postgres'));
