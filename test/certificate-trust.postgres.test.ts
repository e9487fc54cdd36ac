import { certificateTrustContract } from './certificate-trust-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('certificate trust list, issuers, index, wallet', () => certificateTrustContract('postgres'));
