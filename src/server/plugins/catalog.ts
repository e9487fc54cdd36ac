import { z } from 'zod';
import { HandlingMode, Item } from '../../catalog/index.ts';
import type { ServerContext } from '../context.ts';
import { addRoute, Page, pageOf } from '../route.ts';

export function catalogPlugin({ app, openapi, runtime, rateLimits }: ServerContext): void {
  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/catalog/items',
    rateLimit: rateLimits.public,
    tag: 'catalog',
    summary: 'Items of the national list and this region’s local items',
    query: Page(500).extend({
      scope: z.enum(['national', 'local']).optional(),
      audience: z.enum(['individual', 'enterprise']).optional(),
      mode: HandlingMode.optional(),
    }),
    response: z.object({ items: z.array(Item), total: z.number() }),
    handler: async ({ query: { limit, offset, ...filter } }) => {
      const { page, total } = pageOf((await runtime.catalog()).list(filter), { limit, offset });
      return { items: page, total };
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/catalog/items/:code',
    rateLimit: rateLimits.public,
    tag: 'catalog',
    summary: 'One item of the catalogue',
    params: z.object({ code: z.string().max(30) }),
    response: Item,
    errors: [404],
    handler: async ({ params }) => (await runtime.catalog()).require(params.code),
  });
}
