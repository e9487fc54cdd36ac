import type { AuditEvent } from '../../audit/index.ts';
import type { ServerContext } from '../context.ts';

/**
 * One structured log line per exchange outcome on every server that takes part (requester,
 * hub, provider), keyed by the exchange's `requestId`: the requester chooses it, the hub reads it
 * from the clear envelope and the provider from the signed request, so the three lines correlate.
 * Only identifiers of the exchange go in — never the subject, its hash, the operator or the data.
 */
export function loggingPlugin({ app, runtime }: ServerContext): void {
  const log = app.log.child({ component: 'exchange' });
  runtime.audit.onEvent((event: AuditEvent) => {
    const side = event.kind === 'exchange.request' ? 'requester' : event.kind === 'exchange.provide' ? 'provider' : event.kind === 'exchange.relay' ? 'relayed' : undefined;
    if (!side) return;
    const via = side === 'relayed' ? 'hub' : event.detail?.via;
    log.info(
      {
        exchange: {
          requestId: event.requestId,
          side,
          via,
          requester: event.requester,
          provider: event.provider,
          agreementId: event.agreementId,
          service: event.service,
          outcome: event.outcome,
          code: event.code ?? 'OK',
        },
      },
      'exchange',
    );
  });
  // The request id of this server's log lines goes back to the caller, to quote in a report.
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
}
