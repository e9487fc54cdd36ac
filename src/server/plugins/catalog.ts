import { z } from 'zod';
import { HandlingMode, Item } from '../../catalog/index.ts';
import type { ServerContext } from '../context.ts';
import { addRoute } from '../route.ts';

export function catalogPlugin({ app, openapi, runtime, rateLimits }: ServerContext): void {
  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/catalog/items',
    rateLimit: rateLimits.public,
    tag: 'catalog',
    summary: 'Items of the national list and this region’s local items',
    query: z.object({
      scope: z.enum(['national', 'local']).optional(),
      audience: z.enum(['individual', 'enterprise']).optional(),
      mode: HandlingMode.optional(),
    }),
    response: z.object({ items: z.array(Item) }),
    handler: async ({ query }) => ({ items: (await runtime.catalog()).list(query) }),
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
