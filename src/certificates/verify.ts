import { TongbanError } from '../errors/index.ts';
import type { VerifiedCertificate } from './model.ts';
import type { TrustList } from './trust-list.ts';

export interface VerifyPresentationOptions {
  trustList: TrustList;
  now: Date;
  statusOf(uri: string, idx: number, issuer: string): Promise<number>;
  audience?: string;
  nonce?: string;
  maxKeyBindingAgeSeconds?: number;
}

export async function verifyPresentation(presentation: string, options: VerifyPresentationOptions): Promise<VerifiedCertificate> {
  throw new TongbanError('INTERNAL', `not yet ${presentation.length} ${options.now.toISOString()}`);
}
