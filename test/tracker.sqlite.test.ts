import { describe } from 'vitest';
import { trackerContract } from './tracker-contract.ts';

describe('[sqlite] data tracker', () => trackerContract('sqlite'));
