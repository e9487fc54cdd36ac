import { describe, expect, it } from 'vitest';
import { localReturnPath } from './relying-party.ts';

describe('localReturnPath', () => {
  it('comes back to who-am-I when no path is given, to the path given otherwise', () => {
    expect(localReturnPath(undefined)).toBe('/v1/auth/me');
    expect(localReturnPath('')).toBe('/v1/auth/me');
    expect(localReturnPath('/v1/cases?state=applied')).toBe('/v1/cases?state=applied');
  });

  it('refuses anything that would leave the node (an open redirect) or smuggle control characters', () => {
    for (const bad of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'v1/cases', '/a\r\nSet-Cookie: x=1', '/a\\b', '/x\u007f']) {
      expect(() => localReturnPath(bad), bad).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });
});
