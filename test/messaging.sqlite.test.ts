import { describe } from 'vitest';
import { messagingContract } from './messaging-contract.ts';

describe('[sqlite] messaging', () => messagingContract('sqlite'));
