import { describe } from 'vitest';
import { agreementLifecycleContract } from './agreement-lifecycle-contract.ts';

describe('[sqlite] agreement lifecycle', () => agreementLifecycleContract('sqlite'));
