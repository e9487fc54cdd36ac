import { describe } from 'vitest';
import { federationContract } from './federation-contract.ts';

describe('[sqlite] federation', () => federationContract('sqlite'));
