import { TongbanError } from '../errors/index.ts';
import { DEFAULT_CONSENT_MAX_DAYS, normalisedSubject, type ExchangeRequest } from './protocol.ts';

/** Clocks of two nodes may differ this much (as for message signatures). */
const CLOCK_SKEW_MS = 30_000;
const DAY_MS = 86_400_000;

/**
 * A consent may be relied on only for the exchange it names, while it is valid, and for no longer
 * than `maxDays` from its grant: the requester checks before sending, the provider before serving,
 * each against its own clock and its own maximum. Every failure is CONSENT_INVALID.
 */
export function checkConsent(
  exchange: Pick<ExchangeRequest, 'subject' | 'agreementId' | 'itemCode' | 'provider' | 'consent'>,
  now: Date,
  maxDays: number = DEFAULT_CONSENT_MAX_DAYS,
): void {
  const consent = exchange.consent;
  if (!consent) return;
  const subject = normalisedSubject({ type: exchange.subject.type, value: consent.subject }).value;
  const matches =
    subject === normalisedSubject(exchange.subject).value &&
    consent.agreementId === exchange.agreementId &&
    consent.itemCode === exchange.itemCode &&
    consent.provider === exchange.provider;
  if (!matches) throw new TongbanError('CONSENT_INVALID', 'The consent does not cover this subject, agreement, item and provider.');
  const t = now.getTime();
  const granted = Date.parse(consent.grantedAt);
  const expires = Date.parse(consent.expiresAt);
  if (!(expires > granted)) throw new TongbanError('CONSENT_INVALID', 'The consent expires before it is granted.');
  if (granted > t + CLOCK_SKEW_MS) throw new TongbanError('CONSENT_INVALID', 'The consent is granted in the future.');
  if (t >= expires) throw new TongbanError('CONSENT_INVALID', 'The consent has expired.');
  if (expires - granted > maxDays * DAY_MS) {
    throw new TongbanError('CONSENT_INVALID', `A consent may last at most ${maxDays} days; this one lasts ${Math.ceil((expires - granted) / DAY_MS)}.`);
  }
}
