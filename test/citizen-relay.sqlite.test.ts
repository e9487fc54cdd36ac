import { describe } from 'vitest';
import { citizenRelayContract } from './citizen-relay-contract.ts';

describe('[sqlite] a citizen’s hub views relayed by their node', () => citizenRelayContract('sqlite'));
