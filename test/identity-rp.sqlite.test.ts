import { describe } from 'vitest';
import { identityRelyingPartyContract } from './identity-rp-contract.ts';

describe('[sqlite] identity: nodes as relying parties', () => identityRelyingPartyContract('sqlite'));
