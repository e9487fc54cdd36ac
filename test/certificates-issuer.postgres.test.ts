import { issuerContract } from './certificates-issuer-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('certificates: the issuing node', () => issuerContract('postgres'));
