import { agreementLifecycleContract } from './agreement-lifecycle-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('agreement lifecycle', () => agreementLifecycleContract('postgres'));
