import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyServerOptions } from 'fastify';
import { REQUEST_ID_HEADER } from '../exchange/peer-http.ts';

/** A caller's own request id is kept when it is short and plain; anything else gets a fresh one. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * Paths pino replaces with "[redacted]": credentials in headers, and any field that could hold a
 * personal value should one ever be logged (ID numbers, names, subjects, bodies).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers.signature',
  'headers.authorization',
  'body',
  'req.body',
  'idNumber',
  'name',
  'subject',
  'applicant',
  'data',
  '*.idNumber',
  '*.name',
  '*.subject',
  '*.applicant',
  '*.data',
  '*.body',
];

/**
 * Fastify's pino logger: JSON lines at `level`, request ids from `x-request-id` when the caller
 * sent a usable one, URLs without their query string (which can carry personal data), redaction.
 */
export function loggerOptions(level: string, stream?: { write(line: string): void }): Pick<FastifyServerOptions, 'logger' | 'genReqId'> {
  return {
    logger: {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        req: (request: { method: string; url: string; hostname?: string; ip?: string }) => ({
          method: request.method,
          url: request.url.split('?')[0],
          remoteAddress: request.ip,
        }),
      },
      ...(stream ? { stream } : {}),
    },
    genReqId: (request: IncomingMessage) => {
      // A peer's exchange id (REQUEST_ID_HEADER), or any caller's id: used to correlate log lines, never trusted for anything else.
      const given = request.headers[REQUEST_ID_HEADER];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  };
}
