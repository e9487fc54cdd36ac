import { z } from 'zod';
import { AgreementItem } from '../agreements/index.ts';
import { signingAlgorithms } from '../crypto/index.ts';

const Division = z.string().regex(/^\d{6}$/);

/** An agreement as the federation file states it; validity defaults to yesterday + two years. */
export const AgreementTemplate = z.object({
  id: z.string(),
  title: z.string(),
  topology: z.enum(['bridge', 'hub']),
  parties: z.array(Division).min(2),
  items: z.array(AgreementItem).min(1),
  validFrom: z.iso.datetime().optional(),
  validUntil: z.iso.datetime().optional(),
  security: z.string().optional(),
});
export type AgreementTemplate = z.infer<typeof AgreementTemplate>;

export const FederationConfig = z.object({
  /** Where the hub's and nodes' folders go (relative to the config file). */
  dir: z.string().default('var/federation'),
  host: z.string().default('127.0.0.1'),
  /** Hub on portBase, nodes on portBase + 1, + 2, … in the order listed. */
  portBase: z.number().int().min(0).max(65000).default(7700),
  /** PostgreSQL for every server (each in its own schema); SQLite files when absent. */
  databaseUrl: z.string().optional(),
  /**
   * Processes per server (hub and every node): with more than one, each server runs as that many
   * `tongban serve` replicas on its config and PostgreSQL database, on ports `port + 100 × k`
   * (k = 1 … replicas), behind a round-robin front on its published port. Needs `databaseUrl`.
   */
  replicas: z.number().int().min(1).max(16).default(1),
  /** Schemas are named <prefix>_hub, <prefix>_<division>. */
  schemaPrefix: z.string().regex(/^[a-z][a-z0-9_]{0,20}$/).default('tb'),
  hub: z.object({ division: Division.default('100000'), name: z.string().optional(), algorithm: z.enum(signingAlgorithms).default('Ed25519') }).prefault({}),
  nodes: z
    .array(
      z.object({
        division: Division,
        name: z.string().optional(),
        algorithm: z.enum(signingAlgorithms).default('Ed25519'),
        /** Size of the synthetic registries. */
        people: z.number().int().min(1).max(200_000).default(2000),
        businesses: z.number().int().min(0).max(50_000).default(200),
      }),
    )
    .min(1),
  agreements: z.array(AgreementTemplate).default([]),
  /**
   * Nodes the hub authorises to issue certificates once they are approved (what the administrator
   * does with `POST /v1/certificates/issuers`): each a node of this federation.
   */
  certificateIssuers: z
    .array(z.object({ division: Division, authority: z.string().min(2).max(100), authorityCode: z.string(), types: z.array(z.string()).min(1) }))
    .default([]),
  directory: z.object({ refreshSeconds: z.number().min(0.2).default(30), snapshotTtlSeconds: z.number().min(1).default(3600) }).prefault({}),
  audit: z.object({ checkpointSeconds: z.number().min(0.2).default(60) }).prefault({}),
  /** E-certificates on every node (the node config's `certificates`); defaults when absent. */
  certificates: z.object({ statusMaxAgeSeconds: z.number().min(0).optional(), statusListTtlSeconds: z.number().int().min(1).optional() }).optional(),
  /**
   * People the federation enrols at the hub, all with this one published password (demo only;
   * start-up warns): one staff member per role at every node (`clerk@<division>`, …) and a few
   * citizens of the first nodes' sample registries. Absent: nobody is enrolled.
   */
  demoPeople: z.object({ password: z.string().min(10).max(200) }).optional(),
  /** Limits on every server's unauthenticated routes (the node config's `server.rateLimit`); defaults when absent. */
  rateLimit: z
    .object({ enabled: z.boolean().optional(), windowSeconds: z.number().int().min(1).optional(), max: z.number().int().min(1).optional(), enrolmentMax: z.number().int().min(1).optional() })
    .optional(),
}).refine((c) => c.replicas === 1 || (c.databaseUrl !== undefined && /^postgres(ql)?:\/\//.test(c.databaseUrl)), {
  message: 'replicas of a server share one database: more than one needs "databaseUrl" (PostgreSQL)',
  path: ['replicas'],
}).refine((c) => c.replicas === 1 || c.portBase !== 0, { message: 'replicas need fixed ports ("portBase" other than 0)', path: ['replicas'] })
  // Replica k of the server on port p listens on p + 100 × k: the published ports must stay below 100 apart, the last replica's below 65536.
  .refine((c) => c.replicas === 1 || (c.nodes.length < 100 && c.portBase + c.nodes.length + 100 * c.replicas <= 65535), {
    message: 'with replicas, a federation has fewer than 100 nodes and "portBase" + nodes + 100 × replicas is at most 65535',
    path: ['replicas'],
  });
export type FederationConfig = z.infer<typeof FederationConfig>;
export type CertificateIssuerInput = FederationConfig['certificateIssuers'][number];
export type FederationConfigInput = z.input<typeof FederationConfig>;
