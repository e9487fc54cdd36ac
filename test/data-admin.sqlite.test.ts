import { describe } from 'vitest';
import { dataAdminContract } from './data-admin-contract.ts';

describe('[sqlite] data administrators', () => dataAdminContract('sqlite'));
