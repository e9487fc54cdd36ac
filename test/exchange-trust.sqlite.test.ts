import { describe } from 'vitest';
import { exchangeTrustContract } from './exchange-trust-contract.ts';

describe('[sqlite] exchange trust', () => exchangeTrustContract('sqlite'));
