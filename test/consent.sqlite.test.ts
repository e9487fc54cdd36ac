import { describe } from 'vitest';
import { consentContract } from './consent-contract.ts';

describe('[sqlite] consent the citizen gives', () => consentContract('sqlite'));
