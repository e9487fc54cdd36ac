import type { FastifyInstance } from 'fastify';
import { TongbanError } from '../errors/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received: signatures and Content-Digest are over these bytes. */
    rawBody?: Buffer;
  }
}

/** JSON bodies are parsed from bytes that are kept, so digests can be checked against them. */
export function installRawJsonParser(app: FastifyInstance): void {
  // JSON is the only media type any route takes: text/plain (a Fastify default) is 415 like any other.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    request.rawBody = bytes;
    // Signed node-to-node routes parse (and refuse, sign and log) the raw bytes themselves.
    if ((request.routeOptions.config as { rawBody?: boolean } | undefined)?.rawBody) return done(null, undefined);
    if (bytes.length === 0) return done(new TongbanError('BAD_REQUEST', 'The request body is empty.'), undefined);
    try {
      done(null, JSON.parse(bytes.toString('utf8')));
    } catch {
      done(new TongbanError('BAD_REQUEST', 'The request body is not valid JSON.'), undefined);
    }
  });
}
