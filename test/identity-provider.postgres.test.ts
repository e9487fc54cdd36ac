import { identityProviderContract } from './identity-provider-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('identity provider', () => identityProviderContract('postgres'));
