import { z } from 'zod';
import { TongbanError } from '../../errors/index.ts';
import { divisions, validateCreditCode, validateLicenseId, validateResidentId, type Division } from '../../standards/index.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';

const Issue = z.object({ code: z.string(), message: z.string() });
const DivisionOut = z.object({
  code: z.string(),
  name: z.string(),
  level: z.enum(['province', 'prefecture', 'county']),
  parent: z.string().nullable(),
  statistical: z.boolean().optional(),
  retired: z.string().optional(),
  successor: z.string().optional(),
});

export function standardsPlugin({ app, openapi, clock, rateLimits }: ServerContext): void {
  // POST, not GET: an ID number must not end up in URLs and access logs.
  addRoute(app, openapi, {
    method: 'POST',
    url: '/v1/standards/validate',
    rateLimit: rateLimits.public,
    tag: 'standards',
    summary: 'Validate a resident ID number, unified social credit code or e-licence identifier',
    body: z.object({ kind: z.enum(['id', 'uscc', 'license-id']), value: z.string().max(200) }),
    response: z.object({ valid: z.boolean(), value: z.string(), errors: z.array(Issue), parsed: z.record(z.string(), z.unknown()).nullable() }),
    handler: async ({ body }) => {
      const result =
        body.kind === 'id'
          ? validateResidentId(body.value, { today: clock() })
          : body.kind === 'uscc'
            ? validateCreditCode(body.value)
            : validateLicenseId(body.value);
      return { ...result, errors: [...result.errors], parsed: result.parsed ? { ...result.parsed } : null };
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/divisions/:code',
    rateLimit: rateLimits.public,
    tag: 'standards',
    summary: 'A GB/T 2260 division and its chain of parents',
    params: z.object({ code: z.string().regex(/^\d{6}$/, 'a division code has six digits') }),
    response: z.object({ division: DivisionOut, chain: z.array(DivisionOut), fullName: z.string() }),
    errors: [404],
    handler: async ({ params }) => {
      const division = divisions.get(params.code);
      if (!division) throw new TongbanError('DIVISION_NOT_FOUND', `${params.code} is not in the division table (version ${divisions.version}).`);
      return { division: plain(division), chain: divisions.chain(params.code).map(plain), fullName: divisions.fullName(params.code) ?? division.name };
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/divisions',
    rateLimit: rateLimits.public,
    tag: 'standards',
    summary: 'Search divisions by name',
    query: z.object({ q: z.string().trim().min(1).max(50), limit: z.coerce.number().int().min(1).max(100).default(20) }),
    response: z.object({ version: z.string(), results: z.array(DivisionOut) }),
    handler: async ({ query }) => ({ version: divisions.version, results: divisions.search(query.q, query.limit).map(plain) }),
  });
}

function plain(d: Division): z.infer<typeof DivisionOut> {
  return { ...d };
}
