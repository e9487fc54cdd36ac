import { z } from 'zod';

interface Operation {
  method: string;
  url: string;
  summary: string;
  tag: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response: z.ZodType;
  status: number;
  errors: readonly number[];
  /** Media type of the success answer (JSON unless said otherwise). */
  contentType?: string;
}

/** Collects the routes as they are registered and renders an OpenAPI 3.1 document from their schemas. */
export class OpenApiRegistry {
  readonly #operations: Operation[] = [];

  add(operation: Operation): void {
    this.#operations.push(operation);
  }

  document(info: { title: string; version: string; description?: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const op of this.#operations) {
      const path = op.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const parameters = [
        ...parametersOf(op.params, 'path'),
        ...parametersOf(op.query, 'query'),
      ];
      const responses: Record<string, unknown> = {
        [String(op.status)]: {
          description: 'Success',
          content: { [op.contentType ?? 'application/json']: { schema: z.toJSONSchema(op.response, { io: 'output', unrepresentable: 'any' }) } },
        },
      };
      for (const status of op.errors) {
        responses[String(status)] = { $ref: '#/components/responses/Problem' };
      }
      (paths[path] ??= {})[op.method.toLowerCase()] = {
        summary: op.summary,
        tags: [op.tag],
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(op.body
          ? {
              requestBody: {
                required: true,
                content: { 'application/json': { schema: z.toJSONSchema(op.body, { io: 'input', unrepresentable: 'any' }) } },
              },
            }
          : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info,
      paths,
      components: {
        schemas: {
          Problem: {
            type: 'object',
            description: 'RFC 9457 problem details with a stable Tongban error code.',
            required: ['type', 'title', 'status', 'code'],
            properties: {
              type: { type: 'string', format: 'uri' },
              title: { type: 'string' },
              status: { type: 'integer' },
              code: { type: 'string' },
              detail: { type: 'string' },
              instance: { type: 'string' },
              origin: { type: 'string', description: "Hub only: the hub's division on a refusal the hub itself made (a provider's refusals of hub-mode requests travel sealed, as 200 relay answers)." },
              errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
            },
          },
        },
        responses: {
          Problem: {
            description: 'Error as RFC 9457 problem details',
            content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
          },
        },
      },
    };
  }
}

function parametersOf(schema: z.ZodType | undefined, location: 'path' | 'query'): unknown[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    schema: s,
  }));
}
