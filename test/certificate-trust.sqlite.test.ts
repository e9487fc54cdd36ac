import { describe } from 'vitest';
import { certificateTrustContract } from './certificate-trust-contract.ts';

describe('[sqlite] certificate trust list, issuers, index, wallet', () => certificateTrustContract('sqlite'));
