import { z } from 'zod';

const Identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a SQL identifier: letters, digits and underscores');

/** A table or view in an existing SQL database (SQLite file or PostgreSQL). */
export const SqlAdapterConfig = z.object({
  kind: z.literal('sql'),
  url: z.string().min(1),
  table: Identifier,
  /** The column holding the subject's identifier. */
  key: Identifier,
  /** Data element → column. */
  columns: z.record(z.string(), Identifier),
});

/** An HTTP backend answering GET <url with {subject}> with JSON; 404 means no such subject. */
export const HttpAdapterConfig = z.object({
  kind: z.literal('http'),
  url: z.string().refine((u) => u.includes('{subject}'), 'the URL must contain {subject}'),
  /** Data element → dotted path in the JSON answer. */
  fields: z.record(z.string(), z.string().min(1)),
  headers: z.record(z.string(), z.string()).default({}),
  timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
});

export const AdapterConfig = z.discriminatedUnion('kind', [SqlAdapterConfig, HttpAdapterConfig]);
export type AdapterConfig = z.infer<typeof AdapterConfig>;

export const ServiceConfig = z.object({
  id: z.string().min(3),
  adapter: AdapterConfig,
});
export type ServiceConfig = z.infer<typeof ServiceConfig>;
