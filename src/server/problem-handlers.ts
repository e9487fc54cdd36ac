import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isTongbanError, toProblem, type ErrorCode, type Problem } from '../errors/index.ts';
import { storeUnavailable } from '../store/index.ts';

/** Fastify's own error codes, mapped onto Tongban's stable codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
};

/**
 * Every error leaves as RFC 9457 problem+json with a stable code. Expected errors keep their
 * public message; anything else is logged in full and answered with a generic 500.
 */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((thrown: FastifyError | Error, request, reply) => {
    // A TongbanError already names what failed (a peer that does not answer is HUB_UNREACHABLE,
    // not a database outage, even when its cause carries ECONNREFUSED); only other errors are
    // checked for a lost database connection, on themselves or their cause.
    const error = isTongbanError(thrown) ? thrown : (storeUnavailable(thrown) ?? storeUnavailable((thrown as { cause?: unknown }).cause) ?? thrown);
    let problem: Problem;
    if (isTongbanError(error)) {
      problem = error.toProblem(pathOf(request.url));
      // Expected outages (hub down, directory expired) are warnings, without a stack.
      if (error.status >= 500) request.log.warn({ code: error.code, url: pathOf(request.url) }, error.message);
    } else {
      const fastifyCode = 'code' in error && typeof error.code === 'string' ? FASTIFY_CODES[error.code] : undefined;
      const isSyntaxError = error instanceof SyntaxError && 'statusCode' in error;
      if (fastifyCode || isSyntaxError) {
        problem = toProblem(fastifyCode ?? 'BAD_REQUEST', isSyntaxError ? 'The request body is not valid JSON.' : error.message, {
          instance: pathOf(request.url),
        });
      } else {
        request.log.error({ err: error }, 'unexpected error');
        problem = toProblem('INTERNAL', 'An internal error occurred.', { instance: pathOf(request.url) });
      }
    }
    void reply.code(problem.status).type('application/problem+json').send(problem);
  });

  app.setNotFoundHandler((request, reply) => {
    const problem = toProblem('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}.`, { instance: pathOf(request.url) });
    void reply.code(404).type('application/problem+json').send(problem);
  });
}

/**
 * Errors Fastify meets before any route runs (a malformed URL, a path parameter over its maximum
 * length): answered as problem+json like every other error, naming neither the URL nor the
 * parameter (they can be long, and carry personal data). Passed as Fastify's `frameworkErrors`.
 */
export function frameworkProblem(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const problem = toProblem('BAD_REQUEST', error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is longer than allowed.' : 'The request URL is malformed.');
  void reply.code(problem.status).type('application/problem+json').send(problem);
}

// The query string can carry personal data; problems name only the path.
function pathOf(url: string): string {
  return url.split('?')[0] ?? url;
}
