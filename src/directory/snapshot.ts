import { z } from 'zod';
import { checkAgreementSuccession, PolicyIndex, SignedAgreement } from '../agreements/index.ts';
import { canonicalJson, EncryptionPublicJwk, jwkThumbprint, PublicJwk, signJws, verifyJws, type SigningKey } from '../crypto/index.ts';
import { jwkThumbprintOf } from '../crypto/thumbprint.ts';
import { TongbanError } from '../errors/index.ts';

const Division = z.string().regex(/^\d{6}$/);
const Kid = z.string().min(8).max(120);

// Bounded sizes: an entry is published to every node in every snapshot.
export const PublishedService = z.object({
  id: z.string().min(1).max(100),
  subject: z.string().min(1).max(40),
  fields: z.array(z.string().min(1).max(60)).max(100),
});

/** A signing key a node used before a rotation, still valid for messages until `validUntil`. */
export const PreviousKey = z.object({ kid: Kid, jwk: PublicJwk, validUntil: z.iso.datetime() });
export type PreviousKey = z.infer<typeof PreviousKey>;

/** A node as every other node sees it: identity, endpoint, keys, services. */
export const DirectoryEntry = z.object({
  division: Division,
  name: z.string().trim().min(1).max(100),
  role: z.enum(['node', 'hub']),
  endpoint: z.url({ protocol: /^https?$/ }).max(300),
  signingKey: z.object({ kid: Kid, jwk: PublicJwk }),
  encryptionKey: z.object({ kid: Kid, jwk: EncryptionPublicJwk }),
  services: z.array(PublishedService).max(50),
  /**
   * Signing keys replaced by approved rotations, newest first. Messages signed with one verify
   * until its `validUntil` (the overlap); agreement signatures made with one stay valid.
   */
  previousKeys: z.array(PreviousKey).max(10).optional(),
});
export type DirectoryEntry = z.infer<typeof DirectoryEntry>;

/**
 * Why an entry's key ids are not bound to its keys, or undefined when they are: a signing
 * kid is `<division>:<RFC 7638 thumbprint>`, an encryption kid `<division>:enc:<thumbprint>`.
 * Without this, anyone could publish their own key under an approved node's kid.
 */
export function keyBindingProblem(entry: Pick<DirectoryEntry, 'division' | 'signingKey' | 'encryptionKey'> & { previousKeys?: readonly PreviousKey[] | undefined }): string | undefined {
  const signing = `${entry.division}:${jwkThumbprint(entry.signingKey.jwk)}`;
  if (entry.signingKey.kid !== signing) return `the signing key id must be ${signing}, the division and the RFC 7638 thumbprint of the key`;
  const encryption = `${entry.division}:enc:${jwkThumbprintOf(entry.encryptionKey.jwk)}`;
  if (entry.encryptionKey.kid !== encryption) return `the encryption key id must be ${encryption}, the division and the RFC 7638 thumbprint of the key`;
  for (const previous of entry.previousKeys ?? []) {
    if (previous.kid !== `${entry.division}:${jwkThumbprint(previous.jwk)}`) return `the previous key id ${previous.kid} is not bound to its key`;
  }
  return undefined;
}

/** Whatever carries a node's current and previous signing keys (a directory entry or the hub's record). */
export interface KeyHolder {
  readonly signingKey: { readonly kid: string; readonly jwk: PublicJwk };
  readonly previousKeys?: readonly { readonly kid: string; readonly jwk: PublicJwk; readonly validUntil: string }[] | undefined;
}

/**
 * The public key `kid` names for this node at `now`: its current key, or a previous key
 * during its overlap period. Null for any other kid.
 */
export function signingKeyFor(entry: KeyHolder, kid: string, now: Date = new Date()): PublicJwk | null {
  if (kid === entry.signingKey.kid) return entry.signingKey.jwk;
  const previous = entry.previousKeys?.find((k) => k.kid === kid);
  return previous && Date.parse(previous.validUntil) > now.getTime() ? previous.jwk : null;
}

/** Every key an agreement signature of this node may be made with: current and previous. */
export function agreementKeysOf(entry: KeyHolder | undefined): { kid: string; jwk: PublicJwk }[] {
  if (!entry) return [];
  return [entry.signingKey, ...(entry.previousKeys ?? []).map(({ kid, jwk }) => ({ kid, jwk }))];
}

/** What the hub publishes: approved nodes and registered agreements, with an expiry. */
export const DirectorySnapshot = z.object({
  issuer: Division,
  version: z.number().int().min(1),
  issuedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  nodes: z.array(DirectoryEntry),
  agreements: z.array(SignedAgreement),
  /**
   * Every agreement state change (suspend, resume, terminate) the hub recorded, each a JWS by
   * the party that took it, in chain order per agreement: a node that never talks to the hub
   * learns of a suspension here, and verifies it itself (the hub cannot make one up).
   */
  agreementStates: z.array(z.string().min(20).max(8000)).max(100_000).optional(),
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

/** An agreement version the view refused, and why. */
export interface RefusedAgreement {
  readonly id: string;
  readonly version: number;
  readonly code: string;
  readonly reason: string;
}

/**
 * A directory snapshot prepared for use: nodes by division and by key id, and the
 * agreements compiled into a policy index. Agreements whose party signatures do not verify
 * against the snapshot's own keys are left out: not even the hub can invent an agreement.
 * Given the versions this node accepted before, a new version is adopted only when every
 * party of the accepted version signed it too; otherwise the accepted version stays in force:
 * not even the hub can swap an agreement.
 */
export class DirectoryView {
  readonly snapshot: DirectorySnapshot;
  readonly policy: PolicyIndex;
  /** Ids of the agreements of the snapshot this view refused. */
  readonly rejectedAgreements: readonly string[];
  readonly refused: readonly RefusedAgreement[];
  /** The agreements in force for this view (adopted from the snapshot or kept from before). */
  readonly agreements: readonly SignedAgreement[];
  /** Versions this view adopted that were not accepted before (for the node to remember). */
  readonly adopted: readonly SignedAgreement[];
  readonly #byDivision: ReadonlyMap<string, DirectoryEntry>;
  readonly #byKid: ReadonlyMap<string, { node: DirectoryEntry; jwk: PublicJwk; validUntil: number }>;
  readonly #expiresAt: number;

  private constructor(snapshot: DirectorySnapshot, inForce: SignedAgreement[], adopted: SignedAgreement[], refused: RefusedAgreement[]) {
    this.snapshot = snapshot;
    this.policy = new PolicyIndex(inForce.map((s) => s.agreement));
    this.agreements = inForce;
    this.adopted = adopted;
    this.refused = refused;
    this.rejectedAgreements = refused.map((r) => r.id);
    // An entry whose key ids are not bound to its keys is not published (the hub refuses them).
    const nodes = snapshot.nodes.filter((n) => keyBindingProblem(n) === undefined);
    this.#byDivision = new Map(nodes.map((n) => [n.division, n]));
    const byKid = new Map<string, { node: DirectoryEntry; jwk: PublicJwk; validUntil: number }>();
    for (const node of nodes) {
      for (const previous of node.previousKeys ?? []) byKid.set(previous.kid, { node, jwk: previous.jwk, validUntil: Date.parse(previous.validUntil) });
      byKid.set(node.signingKey.kid, { node, jwk: node.signingKey.jwk, validUntil: Infinity });
    }
    this.#byKid = byKid;
    this.#expiresAt = Date.parse(snapshot.expiresAt);
  }

  /**
   * Prepares `snapshot`. `accepted` holds the newest agreement versions this node accepted
   * before (empty at the hub, whose registry already applies the same rule).
   */
  static async of(snapshot: DirectorySnapshot, accepted: ReadonlyMap<string, SignedAgreement> = new Map()): Promise<DirectoryView> {
    const byDivision = new Map(snapshot.nodes.filter((n) => keyBindingProblem(n) === undefined).map((n) => [n.division, n]));
    const keysOf = (division: string) => agreementKeysOf(byDivision.get(division));
    const inForce: SignedAgreement[] = [];
    const adopted: SignedAgreement[] = [];
    const refused: RefusedAgreement[] = [];
    const offered = new Set<string>();
    for (const signed of snapshot.agreements) {
      const { id, version } = signed.agreement;
      if (offered.has(id)) {
        refused.push({ id, version, code: 'AGREEMENT_VERSION_CONFLICT', reason: `${id} appears twice in the snapshot` });
        continue;
      }
      offered.add(id);
      const previous = accepted.get(id);
      const check = await checkAgreementSuccession(previous, signed, keysOf);
      if (check.ok) {
        inForce.push(check.unchanged ? previous! : signed);
        if (!check.unchanged) adopted.push(signed);
      } else {
        refused.push({ id, version, code: check.code, reason: check.reason });
        if (previous) inForce.push(previous);
      }
    }
    // A version accepted before stays in force even if a snapshot leaves it out.
    for (const [id, previous] of accepted) if (!offered.has(id)) inForce.push(previous);
    return new DirectoryView(snapshot, inForce, adopted, refused);
  }

  get version(): number {
    return this.snapshot.version;
  }

  node(division: string): DirectoryEntry | undefined {
    return this.#byDivision.get(division);
  }

  /** The node a key id belongs to at `now`: its current key, or a previous key within its overlap. */
  nodeByKid(kid: string, now: Date = new Date()): DirectoryEntry | undefined {
    return this.keyByKid(kid, now)?.node;
  }

  /** The node and public key of `kid` at `now` (previous keys only until their overlap ends). */
  keyByKid(kid: string, now: Date = new Date()): { node: DirectoryEntry; jwk: PublicJwk } | undefined {
    const found = this.#byKid.get(kid);
    if (!found || found.validUntil <= now.getTime()) return undefined;
    return { node: found.node, jwk: found.jwk };
  }

  hub(): DirectoryEntry | undefined {
    return this.#byDivision.get(this.snapshot.issuer);
  }

  expired(now: Date): boolean {
    return now.getTime() >= this.#expiresAt;
  }
}
