import { describe } from 'vitest';
import { issuerContract } from './certificates-issuer-contract.ts';

describe('[sqlite] certificates: the issuing node', () => issuerContract('sqlite'));
