import type { SignedAgreement } from '../agreements/index.ts';
import type { SigningKey } from '../crypto/index.ts';
import type { DirectoryView } from '../directory/index.ts';
import { peerCall, signedRequestHeaders } from '../exchange/index.ts';

/** How telling one node of a state change went. */
export interface Notified {
  readonly division: string;
  readonly status: number | null;
  readonly error?: string;
}

/**
 * Tells the hub and every other party of a state change this node took, each by a request
 * signed by this node: the hub records it for its snapshot (so partners that never talk to the
 * hub learn of it on refresh), the parties apply it at once. Best effort: a node that is down
 * learns of it from the next snapshot it adopts.
 */
export async function notifyStateChange(
  view: DirectoryView,
  signed: SignedAgreement,
  jws: string,
  self: string,
  key: SigningKey,
  clock: () => Date,
  timeoutMs = 5000,
): Promise<Notified[]> {
  const targets = [view.snapshot.issuer, ...signed.agreement.parties.filter((p) => p !== self)];
  const body = JSON.stringify({ change: jws });
  return Promise.all(
    [...new Set(targets)].map(async (division): Promise<Notified> => {
      const node = view.node(division);
      if (!node) return { division, status: null, error: 'not in the directory' };
      const url = new URL(`/v1/agreements/${encodeURIComponent(signed.agreement.id)}/state`, node.endpoint).toString();
      try {
        const headers = await signedRequestHeaders(key, url, body, clock());
        const answer = await peerCall(url, { method: 'POST', headers, body, timeoutMs });
        if (answer.status === 200) return { division, status: 200 };
        const code = (JSON.parse(new TextDecoder().decode(answer.body)) as { code?: string }).code;
        return { division, status: answer.status, ...(code ? { error: code } : {}) };
      } catch (error) {
        return { division, status: null, error: error instanceof Error ? error.message.slice(0, 200) : 'no answer' };
      }
    }),
  );
}
