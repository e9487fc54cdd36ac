import { dataAdminContract } from './data-admin-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('data administrators', () => dataAdminContract('postgres'));
