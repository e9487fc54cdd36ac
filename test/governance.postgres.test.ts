import { governanceContract } from './governance-contract.ts';
import { describePostgres, freshPostgresSchema } from './support/postgres.ts';

describePostgres('governance aggregates', () => governanceContract(freshPostgresSchema));
