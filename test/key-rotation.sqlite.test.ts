import { describe } from 'vitest';
import { keyRotationContract } from './key-rotation-contract.ts';

describe('[sqlite] key rotation, node side', () => keyRotationContract('sqlite'));
