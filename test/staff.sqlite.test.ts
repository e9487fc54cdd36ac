import { describe } from 'vitest';
import { staffContract } from './staff-contract.ts';

describe('[sqlite] a node operator manages staff at the hub', () => staffContract('sqlite'));
