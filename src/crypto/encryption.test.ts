import { spawn } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import { decryptWith, encryptFor, generateEncryptionKey } from './encryption.ts';

const CTY = 'tongban-exchange+jws';
const plaintext = new TextEncoder().encode('eyJhbGciOiJFZERTQSJ9.三都水族自治县 → 青浦区.c2ln');

async function recipient() {
  const key = await generateEncryptionKey('522732');
  return { key, to: { kid: key.kid, jwk: key.publicJwk } };
}

function segments(jwe: string): string[] {
  return jwe.split('.');
}

describe('JWE (ECDH-ES+A256KW, X25519, A256GCM) on node:crypto', () => {
  it('is what the independent jose library decrypts, with the header it expects', async () => {
    const { key, to } = await recipient();
    const jwe = await encryptFor(to, plaintext, CTY);
    const { plaintext: opened, protectedHeader } = await compactDecrypt(jwe, createPrivateKey({ key: key.privateJwk, format: 'jwk' }), {
      keyManagementAlgorithms: ['ECDH-ES+A256KW'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    expect(new TextDecoder().decode(opened)).toBe(new TextDecoder().decode(plaintext));
    expect(protectedHeader).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: key.kid, cty: CTY, epk: { kty: 'OKP', crv: 'X25519' } });
  });

  it('opens what jose encrypts, with and without PartyUInfo/PartyVInfo', async () => {
    const { key } = await recipient();
    const publicKey = createPublicKey({ key: key.publicJwk, format: 'jwk' });
    const plain = await new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: key.kid, cty: CTY }).encrypt(publicKey);
    expect(await decryptWith(key, plain, CTY)).toEqual(plaintext);
    const withParties = await new CompactEncrypt(plaintext)
      .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: key.kid, cty: CTY })
      .setKeyManagementParameters({ apu: new TextEncoder().encode('310118'), apv: new TextEncoder().encode('522732') })
      .encrypt(publicKey);
    expect(await decryptWith(key, withParties, CTY)).toEqual(plaintext);
  });

  it('uses a fresh ephemeral key and IV per message', async () => {
    const { to } = await recipient();
    const [a, b] = [await encryptFor(to, plaintext, CTY), await encryptFor(to, plaintext, CTY)];
    expect(segments(a)[0]).not.toBe(segments(b)[0]);
    expect(segments(a)[2]).not.toBe(segments(b)[2]);
  });

  it('refuses another recipient, another cty, a changed byte anywhere, other algorithms and critical extensions', async () => {
    const { key, to } = await recipient();
    const other = await generateEncryptionKey('522732');
    const jwe = await encryptFor(to, plaintext, CTY);
    await expect(decryptWith(other, jwe, CTY)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    await expect(decryptWith(key, jwe, 'other')).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    // A flipped character in each part: header (authenticated as AAD), wrapped key, IV, ciphertext, tag.
    for (let part = 0; part < 5; part++) {
      const parts = segments(jwe);
      const text = parts[part]!;
      const i = Math.floor(text.length / 2);
      parts[part] = text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
      await expect(decryptWith(key, parts.join('.'), CTY)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    }
    const publicKey = createPublicKey({ key: key.publicJwk, format: 'jwk' });
    const direct = await new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM', kid: key.kid, cty: CTY }).encrypt(publicKey);
    await expect(decryptWith(key, direct, CTY)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    const critical = await new CompactEncrypt(plaintext)
      .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: key.kid, cty: CTY, crit: ['x-tongban'], 'x-tongban': 1 })
      .encrypt(publicKey, { crit: { 'x-tongban': true } });
    await expect(decryptWith(key, critical, CTY)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    await expect(decryptWith(key, 'a.b.c', CTY)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
  });
});

describe('encryptFor under garbage collection', () => {
  // Node 20 deadlocked the main thread for good when a collected key-generation job locked the
  // mutex of a key pair whose public key was being exported (docs/benchmarks.md: the hub-mode
  // stall). The loop below hung in one run out of two with the ephemeral key exported from its
  // KeyObject; with the key encoded by the generation itself it finishes every time.
  it('60,000 encryptions in a churning heap finish (no deadlock in the ephemeral key generation)', async () => {
    const fixture = fileURLToPath(new URL('../../test/fixtures/encrypt-under-gc.ts', import.meta.url));
    const child = spawn(process.execPath, ['--max-semi-space-size=1', '--import', 'tsx', fixture, '60000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    expect({ code, output: output.trim() }).toEqual({ code: 0, output: 'encrypted 60000' });
  }, 120_000);
});
