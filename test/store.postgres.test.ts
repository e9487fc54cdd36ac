import { storeContract } from './store-contract.ts';
import { describePostgres, freshPostgresSchema } from './support/postgres.ts';

describePostgres('store contract', () => storeContract(freshPostgresSchema));
