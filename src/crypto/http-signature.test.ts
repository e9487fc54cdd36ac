import { createHmac, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { httpbis } from 'http-message-signatures';
import { describe, expect, it } from 'vitest';
import { contentDigest, verifyContentDigest } from './content-digest.ts';
import { signatureBase, signMessage, verifyMessage, type SignedMessage } from './http-signature.ts';

// RFC 9421 Appendix B.1.4 test key and B.2 example request.
const TEST_KEY_ED25519 = createPrivateKey('-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n');
const TEST_PUB_ED25519 = createPublicKey('-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n');
const TEST_SHARED_SECRET = Buffer.from('uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==', 'base64');
const EXAMPLE_REQUEST: SignedMessage = {
  method: 'POST',
  url: 'https://example.com/foo?param=Value&Pet=dog',
  headers: {
    host: 'example.com',
    date: 'Tue, 20 Apr 2021 02:07:55 GMT',
    'content-type': 'application/json',
    'content-digest': 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
    'content-length': '18',
  },
};
const EXAMPLE_BODY = '{"hello": "world"}';
const c = (...names: string[]) => names.map((name) => ({ name }));

describe('RFC 9421 Appendix B vectors', () => {
  it('B.2.6: the Ed25519 signature base and signature match the RFC byte for byte', async () => {
    const components = c('date', '@method', '@path', '@authority', 'content-type', 'content-length');
    const params = { created: 1618884473, keyid: 'test-key-ed25519' };
    expect(signatureBase(components, params, EXAMPLE_REQUEST)).toBe(
      [
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@method": POST',
        '"@path": /foo',
        '"@authority": example.com',
        '"content-type": application/json',
        '"content-length": 18',
        '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
      ].join('\n'),
    );
    const headers = await signMessage(EXAMPLE_REQUEST, {
      label: 'sig-b26',
      components,
      params,
      sign: async (base) => new Uint8Array(sign(null, base, TEST_KEY_ED25519)),
    });
    expect(headers.signature).toBe('sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:');
    expect(headers['signature-input']).toBe(
      'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
    );
  });

  it('B.2.6: the RFC signature verifies with the public test key', async () => {
    const message = {
      ...EXAMPLE_REQUEST,
      headers: {
        ...EXAMPLE_REQUEST.headers,
        'signature-input': 'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
        signature: 'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:',
      },
    };
    const result = await verifyMessage(message, {
      label: 'sig-b26',
      required: c('@method', '@path'),
      now: 1618884473 + 10,
      maxAgeSeconds: 300,
      resolveKey: async (keyid) => (keyid === 'test-key-ed25519' ? async (base, s) => verify(null, base, TEST_PUB_ED25519, s) : null),
    });
    expect(result).toMatchObject({ ok: true, keyid: 'test-key-ed25519' });
  });

  it('B.2.5: the HMAC-SHA256 example signature is reproduced over our signature base', () => {
    const base = signatureBase(c('date', '@authority', 'content-type'), { created: 1618884473, keyid: 'test-shared-secret' }, EXAMPLE_REQUEST);
    expect(createHmac('sha256', TEST_SHARED_SECRET).update(base).digest('base64')).toBe('pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=');
  });

  it('RFC 9530: Content-Digest of the example body', () => {
    expect(contentDigest(EXAMPLE_BODY)).toBe('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:');
    expect(verifyContentDigest(EXAMPLE_REQUEST.headers['content-digest'], EXAMPLE_BODY)).toBe(true);
    expect(verifyContentDigest(EXAMPLE_REQUEST.headers['content-digest'], '{"hello": "World"}')).toBe(false);
    expect(verifyContentDigest('md5=:abc=:', EXAMPLE_BODY)).toBe(false);
    expect(verifyContentDigest('not a dictionary ((', EXAMPLE_BODY)).toBe(false);
  });
});

describe('verification refuses', () => {
  const components = c('@method', '@path', 'content-digest');
  const signed = async (created: number, extra: { expires?: number } = {}) => {
    const message = { ...EXAMPLE_REQUEST };
    const headers = await signMessage(message, {
      label: 'tongban',
      components,
      params: { created, keyid: 'test-key-ed25519', nonce: 'n1', ...extra },
      sign: async (base) => new Uint8Array(sign(null, base, TEST_KEY_ED25519)),
    });
    return { ...message, headers: { ...message.headers, ...headers } };
  };
  const options = (now: number) => ({
    label: 'tongban',
    required: components,
    now,
    maxAgeSeconds: 60,
    resolveKey: async (keyid: string) => (keyid === 'test-key-ed25519' ? async (base: Uint8Array, s: Uint8Array) => verify(null, base, TEST_PUB_ED25519, s) : null),
  });

  it('a changed covered field', async () => {
    const message = await signed(1000);
    const tampered = { ...message, headers: { ...message.headers, 'content-digest': 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:' } };
    expect(await verifyMessage(tampered, options(1001))).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it('a signature that leaves out a required component', async () => {
    const message = await signed(1000);
    const result = await verifyMessage(message, { ...options(1001), required: [...components, { name: 'content-type' }] });
    expect(result).toMatchObject({ ok: false, reason: 'components' });
  });

  it('an old or future signature, and an explicit expiry', async () => {
    expect(await verifyMessage(await signed(1000), options(1000 + 60 + 31))).toMatchObject({ ok: false, reason: 'expired' });
    expect(await verifyMessage(await signed(2000), options(1000))).toMatchObject({ ok: false, reason: 'not-yet-valid' });
    expect(await verifyMessage(await signed(1000, { expires: 1010 }), options(1050))).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('an unknown key, a missing or garbled header', async () => {
    const message = await signed(1000);
    expect(await verifyMessage(message, { ...options(1001), resolveKey: async () => null })).toMatchObject({ ok: false, reason: 'unknown-key' });
    expect(await verifyMessage({ ...message, headers: { ...message.headers, signature: undefined } }, options(1001))).toMatchObject({
      ok: false,
      reason: 'missing',
    });
    expect(await verifyMessage({ ...message, headers: { ...message.headers, 'signature-input': 'tongban=(((' } }, options(1001))).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
  });
});

describe('interoperability with the independent http-message-signatures package', () => {
  const pkgSigner = { id: 'test-key-ed25519', alg: 'ed25519', sign: async (data: Buffer) => sign(null, data, TEST_KEY_ED25519) };

  it('a request signed by the package verifies with our verifier', async () => {
    const request = { method: 'POST', url: 'https://node.example/v1/exchange', headers: { 'content-digest': contentDigest(EXAMPLE_BODY), 'content-type': 'application/json' } };
    const signedRequest = await httpbis.signMessage(
      { key: pkgSigner, name: 'tongban', fields: ['@method', '@path', '@authority', 'content-digest'], params: ['created', 'expires', 'nonce', 'keyid', 'alg'], paramValues: { nonce: 'abc123', created: new Date(1_700_000_000_000), expires: new Date(1_700_000_060_000) } },
      request,
    );
    const headers = Object.fromEntries(Object.entries(signedRequest.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    const result = await verifyMessage(
      { method: 'POST', url: request.url, headers },
      {
        label: 'tongban',
        required: c('@method', '@path', 'content-digest'),
        now: 1_700_000_010,
        maxAgeSeconds: 60,
        resolveKey: async (keyid, alg) => (keyid === 'test-key-ed25519' && alg === 'ed25519' ? async (base, s) => verify(null, base, TEST_PUB_ED25519, s) : null),
      },
    );
    expect(result).toMatchObject({ ok: true, params: { nonce: 'abc123', expires: 1_700_000_060 } });
  });

  it('a response signed by us, bound to the request with ;req components, verifies with the package', async () => {
    const request: SignedMessage = { method: 'POST', url: 'https://node.example/v1/exchange', headers: { 'content-digest': contentDigest(EXAMPLE_BODY) } };
    const body = '{"data":{"name":"张三"}}';
    const response: SignedMessage = { status: 200, headers: { 'content-digest': contentDigest(body), 'content-type': 'application/json' } };
    const signatureHeaders = await signMessage(
      response,
      {
        label: 'tongban',
        components: [{ name: '@status' }, { name: 'content-digest' }, { name: '@method', req: true }, { name: '@path', req: true }, { name: 'content-digest', req: true }],
        params: { created: Math.floor(Date.now() / 1000), keyid: 'test-key-ed25519', alg: 'ed25519' },
        sign: async (base) => new Uint8Array(sign(null, base, TEST_KEY_ED25519)),
      },
      request,
    );
    const verified = await httpbis.verifyMessage(
      {
        keyLookup: async () => ({ id: 'test-key-ed25519', algs: ['ed25519'], verify: async (data: Buffer, s: Buffer) => verify(null, data, TEST_PUB_ED25519, s) }),
      },
      { status: 200, headers: { ...response.headers, ...signatureHeaders } as Record<string, string> },
      { method: request.method!, url: request.url!, headers: request.headers as Record<string, string> },
    );
    expect(verified).toBe(true);
    // And the binding holds: the same response does not verify against another request.
    const otherRequest = { method: 'POST', url: 'https://node.example/v1/exchange', headers: { 'content-digest': contentDigest('{"other":1}') } };
    await expect(
      httpbis.verifyMessage(
        { keyLookup: async () => ({ id: 'test-key-ed25519', algs: ['ed25519'], verify: async (data: Buffer, s: Buffer) => verify(null, data, TEST_PUB_ED25519, s) }) },
        { status: 200, headers: { ...response.headers, ...signatureHeaders } as Record<string, string> },
        otherRequest,
      ),
    ).resolves.toBe(false);
  });
});
