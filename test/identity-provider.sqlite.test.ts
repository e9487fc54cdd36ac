import { describe } from 'vitest';
import { identityProviderContract } from './identity-provider-contract.ts';

describe('[sqlite] identity provider', () => identityProviderContract('sqlite'));
