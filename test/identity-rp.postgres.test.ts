import { identityRelyingPartyContract } from './identity-rp-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('identity: nodes as relying parties', () => identityRelyingPartyContract('postgres'));
