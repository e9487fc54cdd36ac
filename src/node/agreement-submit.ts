import { SignedAgreement, type SignedAgreement as Signed } from '../agreements/index.ts';
import type { NodeConfig } from '../config/index.ts';
import type { SigningKeySource } from '../crypto/index.ts';
import type { DirectoryClient } from '../directory/index.ts';
import { TongbanError } from '../errors/index.ts';
import { signedRequestHeaders } from '../exchange/index.ts';
import { z } from 'zod';

export const Registration = z.object({ id: z.string(), version: z.number(), registered: z.boolean() });
export type Registration = z.infer<typeof Registration>;

/**
 * Submits a fully signed agreement to the hub (`POST /v1/agreements`, signed by this node) and
 * refreshes this node's directory so the agreement is in its policy index at once. The hub's
 * refusal comes back with the hub's code.
 */
export async function submitToHub(
  context: { config: NodeConfig; keys: SigningKeySource; directoryClient: DirectoryClient | undefined; clock: () => Date },
  signed: Signed,
): Promise<Registration> {
  const url = new URL('/v1/agreements', context.config.hub!.url).toString();
  const text = JSON.stringify(SignedAgreement.parse(signed));
  const headers = await signedRequestHeaders(context.keys.current(), url, text, context.clock());
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body: text, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new TongbanError('HUB_UNREACHABLE', 'The hub did not answer.', { cause: error });
  }
  const json = (await response.json()) as { code?: string; detail?: string };
  if (!response.ok) throw new TongbanError((json.code as 'AGREEMENT_INVALID') ?? 'PEER_RESPONSE_INVALID', `hub: ${json.detail ?? response.status}`);
  await context.directoryClient?.refresh();
  return Registration.parse(json);
}
