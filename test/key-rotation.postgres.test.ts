import { keyRotationContract } from './key-rotation-contract.ts';
import { describePostgres } from './support/postgres.ts';

describePostgres('key rotation, node side', () => keyRotationContract('postgres'));
