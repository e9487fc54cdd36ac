import { directoryTrustContract } from './directory-trust-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('directory and agreement trust', () => directoryTrustContract('postgres'));
