import { describe } from 'vitest';
import { negotiationContract } from './negotiation-contract.ts';

describe('[sqlite] negotiation', () => negotiationContract('sqlite'));
