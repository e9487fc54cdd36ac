import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hexToBase64url } from './base64url.ts';
import { generateSigningKey, signBytes, signingKeyFromJwk, verifyBytes, type SigningAlgorithm } from './keys.ts';
import { derToRaw, rawToDer, sm2PublicKeyDer, sm2PublicKeyPem } from './sm2-der.ts';

const message = new TextEncoder().encode('三都水族自治县 → 安吉县: household.residence-proof');

describe.each<SigningAlgorithm>(['Ed25519', 'SM2'])('%s signing keys', (algorithm) => {
  it('sign and verify; a changed byte, another key or a truncated signature fails', async () => {
    const key = await generateSigningKey(algorithm, '522732');
    const other = await generateSigningKey(algorithm, '330523');
    const signature = await signBytes(key, message);
    expect(signature).toHaveLength(64);
    expect(await verifyBytes(key.publicJwk, message, signature)).toBe(true);
    const tampered = message.slice();
    tampered[0] = tampered[0]! ^ 1;
    expect(await verifyBytes(key.publicJwk, tampered, signature)).toBe(false);
    expect(await verifyBytes(other.publicJwk, message, signature)).toBe(false);
    expect(await verifyBytes(key.publicJwk, message, signature.slice(0, 63))).toBe(false);
  });

  it('have a kid made of owner and RFC 7638 thumbprint, stable across reload from the key file', async () => {
    const key = await generateSigningKey(algorithm, '522732');
    expect(key.kid).toMatch(/^522732:[A-Za-z0-9_-]{43}$/);
    const reloaded = signingKeyFromJwk('522732', JSON.parse(JSON.stringify(key.privateJwk)));
    expect(reloaded.kid).toBe(key.kid);
    expect(await verifyBytes(key.publicJwk, message, await signBytes(reloaded, message))).toBe(true);
  });
});

describe('RFC 7638 thumbprint', () => {
  it('matches the RFC 8037 Appendix A.3 example for Ed25519', async () => {
    const key = signingKeyFromJwk('x', {
      kty: 'OKP',
      crv: 'Ed25519',
      d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
      x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
    });
    expect(key.kid).toBe('x:kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });
});

describe('SM2 interoperability with OpenSSL (distinguishing ID 1234567812345678)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tongban-sm2-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

  it('OpenSSL verifies a Tongban SM2 signature, and rejects it under another ID', async () => {
    const key = await generateSigningKey('SM2', '522732');
    const raw = await signBytes(key, message);
    writeFileSync(join(dir, 'msg'), message);
    writeFileSync(join(dir, 'sig'), rawToDer(raw));
    const jwk = key.publicJwk as { x: string; y: string };
    writeFileSync(join(dir, 'pub.der'), sm2PublicKeyDer(jwk));
    openssl('pkey', '-pubin', '-inform', 'DER', '-in', 'pub.der', '-out', 'pub.pem');
    // Our PEM is the same key OpenSSL reads from the DER.
    expect(sm2PublicKeyPem(jwk)).toBe(readFileSync(join(dir, 'pub.pem'), 'utf8'));
    const verifyWith = (id: string) =>
      openssl('pkeyutl', '-verify', '-pubin', '-inkey', 'pub.pem', '-rawin', '-in', 'msg', '-sigfile', 'sig', '-digest', 'sm3', '-pkeyopt', `distid:${id}`);
    expect(verifyWith('1234567812345678')).toContain('Signature Verified Successfully');
    expect(() => verifyWith('0000000000000000')).toThrow();
  });

  it('Tongban verifies a signature made by OpenSSL', async () => {
    openssl('genpkey', '-algorithm', 'SM2', '-out', 'key.pem');
    writeFileSync(join(dir, 'msg2'), message);
    openssl('pkeyutl', '-sign', '-inkey', 'key.pem', '-rawin', '-in', 'msg2', '-out', 'sig2', '-digest', 'sm3', '-pkeyopt', 'distid:1234567812345678');
    const spki = createPublicKey(readFileSync(join(dir, 'key.pem'))).export({ format: 'der', type: 'spki' });
    const point = spki.subarray(spki.length - 64);
    const jwk = { kty: 'EC', crv: 'SM2', x: hexToBase64url(point.subarray(0, 32).toString('hex')), y: hexToBase64url(point.subarray(32).toString('hex')) } as const;
    const raw = derToRaw(new Uint8Array(readFileSync(join(dir, 'sig2'))));
    expect(await verifyBytes(jwk, message, raw)).toBe(true);
    expect(await verifyBytes(jwk, new TextEncoder().encode('other'), raw)).toBe(false);
  });
});
