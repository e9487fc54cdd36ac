import { describe } from 'vitest';
import { directoryTrustContract } from './directory-trust-contract.ts';

describe('[sqlite] directory and agreement trust', () => directoryTrustContract('sqlite'));
