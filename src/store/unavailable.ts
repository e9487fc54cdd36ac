import { TongbanError } from '../errors/index.ts';

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', 'SQLITE_BUSY', 'SQLITE_IOERR']);

/**
 * A database that is restarting or unreachable is an expected outage, not a bug: callers get
 * STORE_UNAVAILABLE (503, retry later) instead of an internal error.
 */
export function storeUnavailable(error: unknown): TongbanError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  const message = (error as { message?: unknown }).message;
  const connectionLost =
    (typeof code === 'string' && CONNECTION_CODES.has(code)) ||
    (typeof message === 'string' && /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(message));
  return connectionLost ? new TongbanError('STORE_UNAVAILABLE', 'The node’s database is not available right now; try again shortly.', { cause: error }) : undefined;
}
