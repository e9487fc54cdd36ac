import { consentContract } from './consent-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('consent the citizen gives', () => consentContract('postgres'));
