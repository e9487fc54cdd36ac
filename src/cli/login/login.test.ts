import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as oidc from 'openid-client';
import { afterAll, describe, expect, it } from 'vitest';
import { prefilledDeviceUrl } from '../../identity/hub-identity.ts';
import { Refusal } from '../output.ts';
import { deviceFlowFailure } from './hub-client.ts';
import { TokenFile, tokenFilePath, type HubLogin } from './token-file.ts';

const work = mkdtempSync(join(tmpdir(), 'tongban-tokens-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const login = (hub: string, name = '王五'): HubLogin => ({
  hub,
  clientId: 'tongban-cli',
  accessToken: 'a.b.c',
  refreshToken: 'r-1',
  expiresAt: '2030-01-01T00:00:00.000Z',
  signedInAt: '2029-12-31T23:50:00.000Z',
  person: { subject: 'p-1', name, kind: 'staff', node: '522732', roles: ['clerk'] },
});

describe('the token file', () => {
  it('lives in TONGBAN_HOME, else the XDG config folder, else ~/.config/tongban', () => {
    expect(tokenFilePath({ TONGBAN_HOME: '/srv/t' })).toBe('/srv/t/tokens.json');
    expect(tokenFilePath({ XDG_CONFIG_HOME: '/x' })).toBe('/x/tongban/tokens.json');
    expect(tokenFilePath({})).toBe(join(homedir(), '.config', 'tongban', 'tokens.json'));
  });

  it('keeps one sign-in per hub (trailing slash ignored), 0600 in a 0700 folder, and is removed with the last one', () => {
    const file = new TokenFile(join(work, 'a', 'b', 'tokens.json'));
    expect(file.get('http://127.0.0.1:7700')).toBeUndefined();
    file.put('http://127.0.0.1:7700/', login('http://127.0.0.1:7700'));
    file.put('https://hub.example', login('https://hub.example', '李四'));
    expect(statSync(file.path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(file.path)).mode & 0o777).toBe(0o700);
    expect(file.get('http://127.0.0.1:7700')?.person.name).toBe('王五');
    expect(file.get('https://hub.example/')?.person.name).toBe('李四');
    file.put('http://127.0.0.1:7700', undefined);
    expect(Object.keys(file.read().hubs)).toEqual(['https://hub.example']);
    file.put('https://hub.example', undefined);
    expect(existsSync(file.path)).toBe(false);
  });

  it('names a file that is not a token file instead of overwriting it', () => {
    const path = join(work, 'broken.json');
    writeFileSync(path, '{"version":1,"hubs":{"x":{"hub":"nope"}}}');
    expect(() => new TokenFile(path).get('x')).toThrow(/is not a Tongban token file/);
    writeFileSync(path, 'not json');
    expect(() => new TokenFile(path).put('http://h', login('http://h'))).toThrow(/not JSON/);
    expect(readFileSync(path, 'utf8')).toBe('not json');
  });

  it('serialises concurrent changes with its lock', async () => {
    const file = new TokenFile(join(work, 'locked', 'tokens.json'));
    const order: string[] = [];
    const slow = file.locked(async () => {
      order.push('first in');
      await new Promise((resolve) => setTimeout(resolve, 300));
      order.push('first out');
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await file.locked(async () => {
      order.push('second');
    });
    await slow;
    expect(order).toEqual(['first in', 'first out', 'second']);
    expect(existsSync(`${file.path}.lock`)).toBe(false);
    // A lock held now is waited for, then named; one left by a process that died a while ago is taken over.
    writeFileSync(`${file.path}.lock`, '');
    await expect(file.locked(async () => 'done', 200)).rejects.toThrow(/held by another tongban process/);
    const past = new Date(Date.now() - 120_000);
    utimesSync(`${file.path}.lock`, past, past);
    await expect(file.locked(async () => 'done', 200)).resolves.toBe('done');
  });
});

describe('a device sign-in that ends without tokens', () => {
  const bodyError = (error: string) => new oidc.ResponseBodyError('server responded with an error', { cause: { error }, response: new Response(null, { status: 400 }) });

  it('is a refusal (exit 1) saying why: denied, expired, or what the hub said', () => {
    const denied = deviceFlowFailure(bodyError('access_denied'), 'http://hub');
    expect(denied).toBeInstanceOf(Refusal);
    expect(denied).toMatchObject({ code: 'LOGIN_FAILED', message: expect.stringMatching(/denied/) });
    expect(deviceFlowFailure(bodyError('expired_token'), 'http://hub').message).toMatch(/expired/);
    const timeout = Object.assign(new oidc.ClientError('operation timed out'), { code: 'OAUTH_TIMEOUT' });
    expect(deviceFlowFailure(timeout, 'http://hub').message).toMatch(/expired/);
    expect(deviceFlowFailure(bodyError('invalid_grant'), 'http://hub').message).toMatch(/invalid_grant/);
  });

  it('is HUB_UNREACHABLE (exit 2) when the hub stops answering', () => {
    expect(deviceFlowFailure(new TypeError('fetch failed'), 'http://hub')).toMatchObject({ code: 'HUB_UNREACHABLE' });
  });
});

describe('the complete verification URI', () => {
  it('shows the plain code form with the code filled in, not a page that submits itself', () => {
    expect(prefilledDeviceUrl('/oidc/device?user_code=ABCD-EFGH')).toBe('/oidc/device?tongban_user_code=ABCD-EFGH');
    expect(prefilledDeviceUrl('/oidc/device')).toBe('/oidc/device');
    expect(prefilledDeviceUrl('/oidc/device?user_code=' + 'X'.repeat(500))).toBe('/oidc/device?tongban_user_code=' + 'X'.repeat(100));
  });
});

describe('login --status without a federation folder', () => {
  it('shows the one sign-in the token file holds; with none or several it says what to do', async () => {
    const { statusHub } = await import('../commands/login.ts');
    const file = new TokenFile(join(work, 'status', 'tokens.json'));
    const missing = join(work, 'no-such-folder');
    expect(() => statusHub({ federation: missing }, file)).toThrow(expect.objectContaining({ code: 'UNAUTHORIZED' }));
    file.put('http://127.0.0.1:7700', login('http://127.0.0.1:7700'));
    expect(statusHub({ federation: missing }, file)).toBe('http://127.0.0.1:7700');
    file.put('https://hub.example.gov.cn', login('https://hub.example.gov.cn'));
    expect(() => statusHub({ federation: missing }, file)).toThrow(/2 hubs/);
    // A hub named on the command line wins.
    expect(statusHub({ federation: missing, hub: 'https://hub.example.gov.cn/' }, file)).toBe('https://hub.example.gov.cn');
  });
});
