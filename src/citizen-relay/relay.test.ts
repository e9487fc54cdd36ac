import { describe, expect, it } from 'vitest';
import { openHubToken, sealHubToken } from '../identity/sessions.ts';
import { CONSENT_SIGN_IN_MAX_AGE_SECONDS, hubRefusal, RelayRequest, requireRecentSignIn } from './relay.ts';

describe('the citizen relay', () => {
  it('a relayed consent needs a password sign-in within the last five minutes; none recorded is none', () => {
    const now = new Date('2026-11-30T12:00:00Z');
    const seconds = now.getTime() / 1000;
    expect(() => requireRecentSignIn(seconds - CONSENT_SIGN_IN_MAX_AGE_SECONDS, now)).not.toThrow();
    expect(() => requireRecentSignIn(seconds - 10, now)).not.toThrow();
    for (const authTime of [seconds - CONSENT_SIGN_IN_MAX_AGE_SECONDS - 1, seconds - 36_000, undefined]) {
      expect(() => requireRecentSignIn(authTime, now), String(authTime)).toThrow(expect.objectContaining({ code: 'RECENT_SIGN_IN_REQUIRED' }));
    }
  });

  it('passes the hub’s refusals on with their codes; an expired sign-in asks to sign in again; refusals of the node itself are HUB_REFUSED', () => {
    expect(hubRefusal(404, { code: 'CONSENT_NOT_FOUND', detail: 'No such consent.' })).toMatchObject({ code: 'CONSENT_NOT_FOUND', message: 'hub: No such consent.' });
    expect(hubRefusal(401, { code: 'UNAUTHORIZED', detail: 'expired' }).code).toBe('HUB_SIGN_IN_NEEDED');
    for (const code of ['SIGNATURE_INVALID', 'REQUEST_EXPIRED', 'REPLAYED_REQUEST', 'NODE_UNKNOWN', 'NODE_NOT_APPROVED']) expect(hubRefusal(401, { code }).code, code).toBe('HUB_REFUSED');
    // Anything else the hub might answer is no code of ours: never passed on as if it were.
    expect(hubRefusal(500, { code: 'SOMETHING_ELSE' }).code).toBe('PEER_RESPONSE_INVALID');
    expect(hubRefusal(502, 'Bad gateway').code).toBe('PEER_RESPONSE_INVALID');
  });

  it('takes only the calls it knows, nothing more in them', () => {
    expect(RelayRequest.safeParse({ accessToken: 't', call: { op: 'wallet' } }).data).toEqual({ accessToken: 't', call: { op: 'wallet', limit: 50, offset: 0 } });
    expect(RelayRequest.safeParse({ accessToken: 't', call: { op: 'everything' } }).success).toBe(false);
    expect(RelayRequest.safeParse({ accessToken: 't', call: { op: 'wallet', idNumber: '11010519491231002X' } }).success).toBe(false);
    expect(RelayRequest.safeParse({ accessToken: 't', call: { op: 'consent-revoke', id: 'not-a-uuid' } }).success).toBe(false);
  });

  it('seals a session’s hub token under its session id: no other id opens it, an altered seal opens nothing', () => {
    const sealed = sealHubToken('session-a', 'eyJ.header.token');
    expect(sealed).not.toContain('eyJ');
    expect(sealHubToken('session-a', 'eyJ.header.token')).not.toBe(sealed);
    expect(openHubToken('session-a', sealed)).toBe('eyJ.header.token');
    expect(openHubToken('session-b', sealed)).toBeUndefined();
    const [iv, body, tag] = sealed.split('.');
    const flipped = Buffer.from(body!, 'base64url');
    flipped[0]! ^= 1;
    expect(openHubToken('session-a', [iv, flipped.toString('base64url'), tag].join('.'))).toBeUndefined();
    expect(openHubToken('session-a', 'garbage')).toBeUndefined();
  });
});
