import { subjectHash } from '../audit/index.ts';
import type { ExchangeRequest } from './protocol.ts';

/** What both sides record of an exchange: everything but the subject, which is a keyed hash. */
export function exchangeAuditFields(auditKey: Uint8Array, exchange: ExchangeRequest) {
  return {
    requestId: exchange.requestId,
    requester: exchange.requester,
    provider: exchange.provider,
    agreementId: exchange.agreementId,
    itemCode: exchange.itemCode,
    service: exchange.service,
    purpose: exchange.purpose,
    caseId: exchange.caseId,
    operator: exchange.operator.id,
    subjectHash: subjectHash(auditKey, exchange.subject.type, exchange.subject.value),
  };
}
