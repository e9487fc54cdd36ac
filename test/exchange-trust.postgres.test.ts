import { exchangeTrustContract } from './exchange-trust-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('exchange trust', () => exchangeTrustContract('postgres'));
