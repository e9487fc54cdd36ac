import { replicasContract } from './replicas-contract.ts';
import { describePostgres, freshPostgresSchema } from './support/postgres.ts';

describePostgres('replicas of one node on one database', () => replicasContract(freshPostgresSchema));
