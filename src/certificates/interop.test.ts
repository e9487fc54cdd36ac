// Independent checks that a Tongban certificate is what it claims to be, without the project's
// verifier: the @sd-jwt/sd-jwt-vc package with node:crypto callbacks and only the published trust
// list, and the OpenSSL command line for an SM2 issuer signature.
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, rawToDer, sm2PublicKeyPem, type SigningKey } from '../crypto/index.ts';
import { ANJI, CHANGZHOU, HOLDER_ID, issueFixture, issuerFixture, SPOUSE_ID, trustListFor, type IssuerFixture } from '../../test/support/certificate-fixtures.ts';
import { presentCertificate, signStatusList, signTrustList } from './index.ts';

const part = (text: string, i: number) => JSON.parse(Buffer.from(text.split('.')[i]!, 'base64url').toString('utf8')) as Record<string, unknown>;

interface PublishedList {
  issuers: Array<{ division: string; types: string[]; keys: Array<{ kid: string; jwk: Record<string, string> }> }>;
}

describe('independent verification with @sd-jwt/sd-jwt-vc and only the trust list', () => {
  const now = new Date();
  let hub: SigningKey;
  let anji: IssuerFixture;
  let holder: SigningKey;
  let published: string;
  const statuses = new Map<string, number[]>();

  beforeAll(async () => {
    hub = await generateSigningKey('Ed25519', '100000');
    anji = await issuerFixture(ANJI, 'Ed25519');
    holder = await generateSigningKey('Ed25519', 'holder');
    published = await signTrustList(trustListFor([anji, await issuerFixture(CHANGZHOU, 'SM2')], { now }), hub);
  });

  /** Reads the trust list as an outsider would: checks the hub's Ed25519 signature with node:crypto. */
  function readTrustList(jws: string, hubJwk: object): PublishedList {
    const [h, p, s] = jws.split('.') as [string, string, string];
    const ok = nodeVerify(null, Buffer.from(`${h}.${p}`), createPublicKey({ key: hubJwk as never, format: 'jwk' }), Buffer.from(s, 'base64url'));
    if (!ok) throw new Error('trust list signature');
    return JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as PublishedList;
  }

  function instance(list: PublishedList): SDJwtVcInstance {
    // The callback gets `header.payload` and finds the key itself: kid from the header, issuer
    // from iss (certificates and status lists alike), key from the trust list only.
    const verifier = (data: string, signature: string): boolean => {
      const header = part(data, 0);
      const payload = part(data, 1);
      const division = String(payload['iss']).replace('urn:tongban:node:', '');
      const entry = list.issuers.find((i) => i.division === division);
      if (payload['vct'] !== undefined && !entry?.types.includes(String(payload['vct']))) return false;
      const key = entry?.keys.find((k) => k.kid === header['kid']);
      if (!key || header['alg'] !== 'EdDSA') return false;
      return nodeVerify(null, Buffer.from(data), createPublicKey({ key: key.jwk as never, format: 'jwk' }), Buffer.from(signature, 'base64url'));
    };
    return new SDJwtVcInstance({
      hasher: (data, alg) => {
        expect(alg).toBe('sha-256');
        return new Uint8Array(createHash('sha256').update(typeof data === 'string' ? data : new Uint8Array(data)).digest());
      },
      verifier,
      kbVerifier: (data, signature, payload) => {
        const jwk = (payload['cnf'] as { jwk: object }).jwk;
        return nodeVerify(null, Buffer.from(data), createPublicKey({ key: jwk as never, format: 'jwk' }), Buffer.from(signature, 'base64url'));
      },
      statusListFetcher: (uri) => {
        const list = statuses.get(uri);
        if (!list) throw new Error(`no status list at ${uri}`);
        return signStatusList({ key: anji.key, issuer: ANJI, uri, statuses: list, now, ttlSeconds: 60, validSeconds: 3600 });
      },
    });
  }

  it('accepts an Ed25519 certificate we issue, bound and with a field withheld, and refuses it once revoked', async () => {
    const issued = await issueFixture(anji, 'marriage', now, { holderJwk: holder.publicJwk });
    const presented = await presentCertificate(issued, {
      disclose: ['holderName', 'holderIdNumber'],
      holderKey: holder,
      audience: `urn:tongban:node:${CHANGZHOU}`,
      nonce: 'challenge-1',
      now,
    });
    const uri = String((part(issued.split('~')[0]!, 1)['status'] as { status_list: { uri: string } }).status_list.uri);
    statuses.set(uri, new Array<number>(16).fill(0));
    const verifier = instance(readTrustList(published, hub.publicJwk));
    const result = await verifier.verify(presented, { keyBindingNonce: 'challenge-1' });
    expect(result.payload).toMatchObject({ iss: `urn:tongban:node:${ANJI}`, vct: 'urn:tongban:certificate:marriage', holderName: '张三', holderIdNumber: HOLDER_ID });
    expect(result.payload).not.toHaveProperty('spouseIdNumber');
    expect(JSON.stringify(result)).not.toContain(SPOUSE_ID);
    expect(result.kb?.payload).toMatchObject({ aud: `urn:tongban:node:${CHANGZHOU}`, nonce: 'challenge-1' });

    statuses.get(uri)![7] = 1;
    await expect(verifier.verify(presented, { keyBindingNonce: 'challenge-1' })).rejects.toThrow(/status/i);
  });

  it('refuses a certificate by an issuer the trust list does not name', async () => {
    const rogue = await issuerFixture('110101', 'Ed25519');
    const issued = await issueFixture(rogue, 'marriage', now);
    await expect(instance(readTrustList(published, hub.publicJwk)).verify(issued)).rejects.toThrow(/signature/i);
  });
});

function opensslSupportsSm2RawIn(): string | undefined {
  try {
    const version = execFileSync('openssl', ['version'], { encoding: 'utf8' });
    const major = Number(/OpenSSL (\d+)/.exec(version)?.[1] ?? 0);
    if (major < 3) return `${version.trim()}: SM2 with -rawin and distid needs OpenSSL 3`;
    const algorithms = execFileSync('openssl', ['list', '-public-key-algorithms'], { encoding: 'utf8' });
    if (!/SM2/.test(algorithms)) return `${version.trim()} has no SM2`;
    return undefined;
  } catch {
    return 'no openssl command';
  }
}

const skipReason = opensslSupportsSm2RawIn();

describe('OpenSSL verifies an SM2 issuer signature', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tongban-cert-sm2-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  if (skipReason) it.skip(`skipped: ${skipReason}`, () => {});

  it.skipIf(skipReason !== undefined)('openssl pkeyutl -verify -digest sm3 -pkeyopt distid:1234567812345678 accepts the certificate signature', async () => {
    const changzhou = await issuerFixture(CHANGZHOU, 'SM2');
    const issued = await issueFixture(changzhou, 'household-move', new Date());
    const jwt = issued.split('~')[0]!;
    const [h, p, s] = jwt.split('.') as [string, string, string];
    expect(part(jwt, 0)).toMatchObject({ alg: 'SM2', kid: changzhou.key.kid });
    writeFileSync(join(dir, 'input'), `${h}.${p}`);
    writeFileSync(join(dir, 'sig.der'), rawToDer(new Uint8Array(Buffer.from(s, 'base64url'))));
    // The public key as a verifier takes it from the trust list.
    const listed = trustListFor([changzhou], { now: new Date() }).issuers[0]!.keys[0]!.jwk as { x: string; y: string };
    writeFileSync(join(dir, 'pub.pem'), sm2PublicKeyPem(listed));
    const verify = (input: string) =>
      execFileSync(
        'openssl',
        ['pkeyutl', '-verify', '-pubin', '-inkey', 'pub.pem', '-rawin', '-in', input, '-sigfile', 'sig.der', '-digest', 'sm3', '-pkeyopt', 'distid:1234567812345678'],
        { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
    expect(verify('input')).toContain('Signature Verified Successfully');
    writeFileSync(join(dir, 'changed'), `${h}.${p}.`);
    expect(() => verify('changed')).toThrow();
  });
});
