import { z } from 'zod';
import { PolicyIndex, SignedAgreement, verifyAgreementSignatures } from '../agreements/index.ts';
import { canonicalJson, EncryptionPublicJwk, PublicJwk, signJws, verifyJws, type SigningKey } from '../crypto/index.ts';
import { TongbanError } from '../errors/index.ts';

const Division = z.string().regex(/^\d{6}$/);

export const PublishedService = z.object({ id: z.string(), subject: z.string(), fields: z.array(z.string()) });

/** A node as every other node sees it: identity, endpoint, keys, services. */
export const DirectoryEntry = z.object({
  division: Division,
  name: z.string(),
  role: z.enum(['node', 'hub']),
  endpoint: z.url(),
  signingKey: z.object({ kid: z.string(), jwk: PublicJwk }),
  encryptionKey: z.object({ kid: z.string(), jwk: EncryptionPublicJwk }),
  services: z.array(PublishedService),
});
export type DirectoryEntry = z.infer<typeof DirectoryEntry>;

/** What the hub publishes: approved nodes and registered agreements, with an expiry. */
export const DirectorySnapshot = z.object({
  issuer: Division,
  version: z.number().int().min(1),
  issuedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  nodes: z.array(DirectoryEntry),
  agreements: z.array(SignedAgreement),
});
export type DirectorySnapshot = z.infer<typeof DirectorySnapshot>;

const TYP = 'tongban-directory+jws';

export async function signSnapshot(hubKey: SigningKey, snapshot: DirectorySnapshot): Promise<string> {
  return signJws(hubKey, new TextEncoder().encode(canonicalJson(snapshot)), { typ: TYP });
}

/** Verifies a snapshot against the hub key the node pinned at set-up (its trust anchor). */
export async function verifySnapshot(jws: string, hub: { kid: string; jwk: PublicJwk }): Promise<DirectorySnapshot> {
  const result = await verifyJws(jws, (kid) => (kid === hub.kid ? hub.jwk : null));
  if (!result.ok || result.header.typ !== TYP) {
    throw new TongbanError('DIRECTORY_INVALID', 'The directory snapshot is not signed by the pinned hub key.');
  }
  const parsed = DirectorySnapshot.safeParse(JSON.parse(new TextDecoder().decode(result.payload)));
  if (!parsed.success) throw new TongbanError('DIRECTORY_INVALID', 'The directory snapshot does not have the expected form.');
  return parsed.data;
}

/**
 * A directory snapshot prepared for use: nodes by division and by key id, and the
 * agreements compiled into a policy index. Agreements whose party signatures do not verify
 * against the snapshot's own keys are left out: not even the hub can invent an agreement.
 */
export class DirectoryView {
  readonly snapshot: DirectorySnapshot;
  readonly policy: PolicyIndex;
  readonly rejectedAgreements: readonly string[];
  readonly #byDivision: ReadonlyMap<string, DirectoryEntry>;
  readonly #byKid: ReadonlyMap<string, DirectoryEntry>;
  readonly #expiresAt: number;

  private constructor(snapshot: DirectorySnapshot, policy: PolicyIndex, rejected: string[]) {
    this.snapshot = snapshot;
    this.policy = policy;
    this.rejectedAgreements = rejected;
    this.#byDivision = new Map(snapshot.nodes.map((n) => [n.division, n]));
    this.#byKid = new Map(snapshot.nodes.map((n) => [n.signingKey.kid, n]));
    this.#expiresAt = Date.parse(snapshot.expiresAt);
  }

  static async of(snapshot: DirectorySnapshot): Promise<DirectoryView> {
    const keysOf = (division: string) => {
      const node = snapshot.nodes.find((n) => n.division === division);
      return node ? [node.signingKey] : [];
    };
    const policy = new PolicyIndex();
    const rejected: string[] = [];
    for (const signed of snapshot.agreements) {
      const check = await verifyAgreementSignatures(signed, keysOf);
      if (check.ok) policy.add(signed.agreement);
      else rejected.push(signed.agreement.id);
    }
    return new DirectoryView(snapshot, policy, rejected);
  }

  get version(): number {
    return this.snapshot.version;
  }

  node(division: string): DirectoryEntry | undefined {
    return this.#byDivision.get(division);
  }

  nodeByKid(kid: string): DirectoryEntry | undefined {
    return this.#byKid.get(kid);
  }

  hub(): DirectoryEntry | undefined {
    return this.#byDivision.get(this.snapshot.issuer);
  }

  expired(now: Date): boolean {
    return now.getTime() >= this.#expiresAt;
  }
}
