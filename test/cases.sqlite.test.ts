import { describe } from 'vitest';
import { casesContract } from './cases-contract.ts';

describe('[sqlite] cases', () => casesContract('sqlite'));
