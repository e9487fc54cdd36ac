import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signBytes, toBase64url, type SigningAlgorithm, type SigningKey } from '../crypto/index.ts';
import {
  ANJI,
  authorityOf,
  CHANGZHOU,
  chinaDate,
  HOLDER_ID,
  issueFixture,
  issuerFixture,
  personalValues,
  SPOUSE_ID,
  statusUri,
  trustListFor,
  type IssuerFixture,
} from '../../test/support/certificate-fixtures.ts';
import { certificateTypeById, decodeCertificate, isRefusedAfterSignature, presentCertificate, verifyPresentation, type TrustList, type VerifyPresentationOptions } from './index.ts';

const now = new Date('2026-03-10T02:00:00Z');
const AUDIENCE = `urn:tongban:node:${CHANGZHOU}`;
const marriage = certificateTypeById('marriage')!;

const enc = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const dec = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'TongbanError', code });
}

/** Re-signs the issuer JWT of an SD-JWT after editing its header or payload; disclosures stay. */
async function resign(
  sdJwt: string,
  key: SigningKey,
  edit: { header?: (h: Record<string, unknown>) => Record<string, unknown>; payload?: (p: Record<string, unknown>) => Record<string, unknown> },
): Promise<string> {
  const [jwt, ...rest] = sdJwt.split('~');
  const [h, p] = jwt!.split('.') as [string, string];
  const header = (edit.header ?? ((x) => x))(dec(h));
  const payload = (edit.payload ?? ((x) => x))(dec(p));
  const input = `${enc(header)}.${enc(payload)}`;
  const signature = toBase64url(await signBytes(key, new TextEncoder().encode(input)));
  return [`${input}.${signature}`, ...rest].join('~');
}

/** Every part of an SD-JWT, decoded as far as base64url goes: what anyone holding it can read. */
function readable(sdJwt: string): string {
  return sdJwt
    .split(/[~.]/)
    .map((part) => Buffer.from(part, 'base64url').toString('utf8'))
    .join('\n');
}

let anji: IssuerFixture;
let changzhou: IssuerFixture;
let list: TrustList;
const options = (extra: Partial<VerifyPresentationOptions> = {}): VerifyPresentationOptions => ({
  trustList: list,
  now,
  statusOf: () => Promise.resolve(0),
  ...extra,
});

beforeAll(async () => {
  anji = await issuerFixture(ANJI, 'Ed25519');
  changzhou = await issuerFixture(CHANGZHOU, 'SM2');
  list = trustListFor([anji, changzhou], { now });
});

describe.each<[string, () => IssuerFixture]>([
  ['Ed25519 (Anji)', () => anji],
  ['SM2 (Changzhou)', () => changzhou],
])('issue, present, verify: %s', (_label, issuer) => {
  it('a full presentation verifies with every field disclosed and the GB/T 36903 metadata', async () => {
    const issued = await issueFixture(issuer(), 'marriage', now);
    expect(issued.endsWith('~')).toBe(true);
    expect(issued.split('~')).toHaveLength(1 + marriage.fields.length + 1);
    const header = dec(issued.split('.')[0]!);
    expect(header).toEqual({ alg: issuer().key.algorithm === 'Ed25519' ? 'EdDSA' : 'SM2', typ: 'dc+sd-jwt', kid: issuer().key.kid });
    // Personal values are only in disclosures, never in the signed payload.
    const payloadText = Buffer.from(issued.split('~')[0]!.split('.')[1]!, 'base64url').toString('utf8');
    expect(payloadText).not.toContain(HOLDER_ID);
    expect(payloadText).not.toContain('张三');
    const payload = dec(issued.split('~')[0]!.split('.')[1]!);
    expect(payload).toMatchObject({ iss: `urn:tongban:node:${issuer().division}`, vct: marriage.vct, _sd_alg: 'sha-256', iat: now.getTime() / 1000 });
    expect(payload['_sd']).toHaveLength(marriage.fields.length);
    // 128-bit salts.
    for (const d of issued.split('~').slice(1, -1)) expect(Buffer.from((JSON.parse(Buffer.from(d, 'base64url').toString()) as string[])[0]!, 'base64url')).toHaveLength(16);

    const presented = await presentCertificate(issued, { disclose: marriage.fields.map((f) => f.name), now });
    let asked: unknown[] = [];
    const verified = await verifyPresentation(presented, options({ statusOf: (...args) => ((asked = args), Promise.resolve(0)) }));
    expect(asked).toEqual([statusUri(issuer().division), 7, issuer().division]);
    expect(verified).toMatchObject({
      vct: marriage.vct,
      issuer: issuer().division,
      kid: issuer().key.kid,
      disclosed: personalValues.marriage,
      withheld: [],
      status: 'valid',
      keyBound: false,
      issuedAt: now.toISOString(),
    });
    expect(verified.metadata).toEqual(decodeCertificate(issued).metadata);
    expect(verified.metadata).toMatchObject({ division: issuer().division, typeName: '结婚证', holderCodeType: '111', relatedItem: 'N037' });
    // Expires when its last valid day (China time) ends.
    expect(verified.expiresAt).toBe(new Date(Date.parse(`${verified.metadata.validUntil}T00:00:00+08:00`) + 86_400_000).toISOString());
  });

  it('withholding a field still verifies; the withheld value is nowhere in the presentation', async () => {
    const issued = await issueFixture(issuer(), 'marriage', now);
    expect(readable(issued)).toContain(SPOUSE_ID);
    const presented = await presentCertificate(issued, { disclose: ['holderName', 'holderIdNumber', 'spouseName'], now });
    const verified = await verifyPresentation(presented, options());
    expect(verified.disclosed).toEqual({ holderName: '张三', holderIdNumber: HOLDER_ID, spouseName: '李四' });
    expect(verified.disclosed).not.toHaveProperty('spouseIdNumber');
    expect(verified.withheld).toEqual(['spouseIdNumber', 'registrationDate']);
    expect(readable(presented)).not.toContain(SPOUSE_ID);
    expect(JSON.stringify(verified)).not.toContain(SPOUSE_ID);
    // Nothing disclosed at all is a valid presentation too: metadata only.
    const bare = await verifyPresentation(await presentCertificate(issued, { disclose: [], now }), options());
    expect(bare.disclosed).toEqual({});
    expect(bare.withheld).toEqual(marriage.fields.map((f) => f.name));
  });
});

describe('disclosures', () => {
  let issued: string;
  beforeAll(async () => {
    issued = await issueFixture(anji, 'marriage', now);
  });
  const parts = (sdJwt: string) => sdJwt.split('~');

  it('a tampered disclosure (same name, changed value) is refused', async () => {
    const presented = await presentCertificate(issued, { disclose: ['holderName', 'spouseName'], now });
    const p = parts(presented);
    const [salt, name] = JSON.parse(Buffer.from(p[2]!, 'base64url').toString()) as [string, string, string];
    expect(name).toBe('spouseName');
    p[2] = enc([salt, name, '王五']);
    await expectCode(verifyPresentation(p.join('~'), options()), 'CERTIFICATE_DISCLOSURE_INVALID');
    // The same disclosure re-encoded byte for byte differently (whitespace) is a different digest too.
    p[2] = Buffer.from(` ${JSON.stringify([salt, name, '李四'])}`).toString('base64url');
    await expectCode(verifyPresentation(p.join('~'), options()), 'CERTIFICATE_DISCLOSURE_INVALID');
  });

  it('an added disclosure the issuer did not sign is refused, even a real one from another certificate', async () => {
    const presented = await presentCertificate(issued, { disclose: ['holderName'], now });
    const forged = enc([toBase64url(randomBytes(16)), 'spouseName', '王五']);
    await expectCode(verifyPresentation(presented.replace(/~$/, `~${forged}~`), options()), 'CERTIFICATE_DISCLOSURE_INVALID');
    const other = await issueFixture(anji, 'marriage', now, { personal: { ...personalValues.marriage, spouseName: '赵六' } });
    const borrowed = parts(other)
      .slice(1, -1)
      .find((d) => Buffer.from(d, 'base64url').toString().includes('赵六'))!;
    expect(borrowed).toBeDefined();
    await expectCode(verifyPresentation(presented.replace(/~$/, `~${borrowed}~`), options()), 'CERTIFICATE_DISCLOSURE_INVALID');
  });

  it('a duplicated disclosure is refused', async () => {
    const presented = await presentCertificate(issued, { disclose: ['holderName'], now });
    const d = parts(presented)[1]!;
    await expectCode(verifyPresentation(presented.replace(/~$/, `~${d}~`), options()), 'CERTIFICATE_DISCLOSURE_INVALID');
  });

  it('a disclosure that is not [salt, name, value] or names no field of the type is refused, even when signed', async () => {
    for (const disclosure of [enc(['salt', 'holderName']), enc(['salt', 'nickname', 'x']), enc(['salt', 'holderName', 42])]) {
      const digest = toBase64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(disclosure))));
      const forged = await resign(issued, anji.key, { payload: (p) => ({ ...p, _sd: [...(p['_sd'] as string[]), digest].sort() }) });
      await expectCode(verifyPresentation(`${forged.split('~')[0]}~${disclosure}~`, options()), 'CERTIFICATE_DISCLOSURE_INVALID');
    }
  });
});

describe('issuer trust', () => {
  it('a certificate id naming another issuer’s authority (or another type or serial) is refused, even signed by a trusted issuer', async () => {
    const { buildLicenseId } = await import('../standards/index.ts');
    // A real Changzhou certificate id: Anji, trusted, signs a certificate claiming it (filed under it, it would reach that holder's tracker).
    const victimId = buildLicenseId({ typeCode: marriage.typeCode, issuerCode: authorityOf(CHANGZHOU).authorityCode, serial: 'VICTIM000001', version: '001' });
    const genuine = await issueFixture(anji, 'marriage', now);
    const claimed = await resign(genuine, anji.key, { payload: (p) => ({ ...p, jti: victimId, certificate: { ...(p.certificate as object), id: victimId } }) });
    await expectCode(verifyPresentation(claimed, options()), 'CERTIFICATE_MALFORMED');
    const other = decodeCertificate(genuine).metadata;
    const wrongSerial = buildLicenseId({ typeCode: marriage.typeCode, issuerCode: other.authorityCode, serial: 'OTHER0000001', version: '001' });
    const reSerialled = await resign(genuine, anji.key, { payload: (p) => ({ ...p, jti: wrongSerial, certificate: { ...(p.certificate as object), id: wrongSerial } }) });
    await expectCode(verifyPresentation(reSerialled, options()), 'CERTIFICATE_MALFORMED');
  });

  it('tells a refusal made after the issuer’s signature verified from one made before', async () => {
    const expired = await issueFixture(anji, 'marriage', now);
    const later = new Date(now.getTime() + 200 * 365 * 86_400_000);
    const after = await verifyPresentation(expired, options({ now: later })).catch((e: unknown) => e);
    expect(after).toMatchObject({ code: 'CERTIFICATE_EXPIRED' });
    expect(isRefusedAfterSignature(after)).toBe(true);
    const forged = await resign(expired, changzhou.key, {});
    const before = await verifyPresentation(forged, options()).catch((e: unknown) => e);
    expect(before).toMatchObject({ code: 'CERTIFICATE_SIGNATURE_INVALID' });
    expect(isRefusedAfterSignature(before)).toBe(false);
  });

  it('an issuer not on the trust list is refused', async () => {
    const issued = await issueFixture(anji, 'marriage', now);
    await expectCode(verifyPresentation(issued, options({ trustList: trustListFor([changzhou], { now }) })), 'CERTIFICATE_ISSUER_UNTRUSTED');
  });

  it('an issuer trusted for other types only is refused', async () => {
    const issued = await issueFixture(anji, 'marriage', now);
    const onlyMoves = trustListFor([anji], { now, types: [certificateTypeById('household-move')!.vct] });
    await expectCode(verifyPresentation(issued, options({ trustList: onlyMoves })), 'CERTIFICATE_ISSUER_UNTRUSTED');
  });

  it('a key the trust list does not give the issuer (unknown kid) is refused', async () => {
    const rogue = await generateSigningKey('Ed25519', ANJI);
    const issued = await issueFixture(anji, 'marriage', now, { key: rogue });
    await expectCode(verifyPresentation(issued, options()), 'CERTIFICATE_ISSUER_UNTRUSTED');
    // Changzhou's key claimed for an Anji certificate: the kid names Changzhou.
    const borrowed = await resign(await issueFixture(anji, 'marriage', now), changzhou.key, { header: (h) => ({ ...h, alg: 'SM2', kid: changzhou.key.kid }) });
    await expectCode(verifyPresentation(borrowed, options()), 'CERTIFICATE_ISSUER_UNTRUSTED');
  });

  it('a certificate whose authority code is not the trust list’s for that issuer is refused', async () => {
    const other = authorityOf(CHANGZHOU).authorityCode;
    const type = marriage;
    const serial = 'ABC123DEF456';
    const { buildLicenseId } = await import('../standards/index.ts');
    const issued = await issueFixture(anji, 'marriage', now, {
      metadata: { authorityCode: other, number: serial, id: buildLicenseId({ typeCode: type.typeCode, issuerCode: other, serial, version: '001' }) },
    });
    await expectCode(verifyPresentation(issued, options()), 'CERTIFICATE_ISSUER_UNTRUSTED');
  });

  describe('key rotation', () => {
    const retiredAt = new Date(now.getTime() + 3600_000);
    const verifyUntil = new Date(retiredAt.getTime() + 36500 * 86_400_000);
    let rotated: TrustList;
    let next: SigningKey;
    beforeAll(async () => {
      next = await generateSigningKey('Ed25519', ANJI);
      const base = trustListFor([anji], { now });
      const entry = base.issuers[0]!;
      rotated = {
        ...base,
        issuers: [
          {
            ...entry,
            keys: [
              { ...entry.keys[0]!, retiredAt: retiredAt.toISOString(), verifyUntil: verifyUntil.toISOString() },
              { kid: next.kid, jwk: next.publicJwk, from: retiredAt.toISOString() },
            ],
          },
        ],
      };
    });

    it('a certificate issued before retirement still verifies; the new key verifies', async () => {
      const before = await issueFixture(anji, 'marriage', now);
      const later = new Date(retiredAt.getTime() + 86_400_000);
      await expect(verifyPresentation(before, options({ trustList: rotated, now: later }))).resolves.toMatchObject({ kid: anji.key.kid });
      const withNew = await issueFixture(anji, 'marriage', later, { key: next });
      await expect(verifyPresentation(withNew, options({ trustList: rotated, now: later }))).resolves.toMatchObject({ kid: next.kid });
    });

    it('the retired key used after retirement is refused', async () => {
      const after = new Date(retiredAt.getTime() + 60_000);
      const issued = await issueFixture(anji, 'marriage', after);
      await expectCode(verifyPresentation(issued, options({ trustList: rotated, now: after })), 'CERTIFICATE_ISSUER_UNTRUSTED');
    });

    it('past verifyUntil, even what the retired key signed before retirement is refused', async () => {
      const issued = await issueFixture(anji, 'marriage', now);
      // Within the certificate's own validity, so only the key's verifyUntil can refuse it.
      const short = structuredClone(rotated);
      short.issuers[0]!.keys[0]!.verifyUntil = new Date(retiredAt.getTime() + 86_400_000).toISOString();
      const past = new Date(retiredAt.getTime() + 2 * 86_400_000);
      await expectCode(verifyPresentation(issued, options({ trustList: short, now: past })), 'CERTIFICATE_ISSUER_UNTRUSTED');
      await expect(verifyPresentation(issued, options({ trustList: short, now: new Date(retiredAt.getTime() + 3600_000) }))).resolves.toBeDefined();
    });
  });
});

describe('signature and validity', () => {
  it('a signature by another key under the trusted kid is refused', async () => {
    const issued = await issueFixture(anji, 'marriage', now);
    const impostor = await generateSigningKey('Ed25519', ANJI);
    await expectCode(verifyPresentation(await resign(issued, impostor, {}), options()), 'CERTIFICATE_SIGNATURE_INVALID');
  });

  it('a payload changed after signing is refused', async () => {
    const issued = await issueFixture(changzhou, 'marriage', now);
    const [jwt, ...rest] = issued.split('~');
    const [h, p, s] = jwt!.split('.') as [string, string, string];
    const payload = dec(p);
    (payload['certificate'] as Record<string, unknown>)['authority'] = '伪造机关';
    await expectCode(verifyPresentation([`${h}.${enc(payload)}.${s}`, ...rest].join('~'), options()), 'CERTIFICATE_SIGNATURE_INVALID');
  });

  it('an alg that does not fit the key is refused', async () => {
    const issued = await issueFixture(anji, 'marriage', now);
    await expectCode(verifyPresentation(await resign(issued, anji.key, { header: (h) => ({ ...h, alg: 'SM2' }) }), options()), 'CERTIFICATE_SIGNATURE_INVALID');
  });

  it('an expired certificate is refused', async () => {
    const issued = await issueFixture(anji, 'household-move', now);
    const type = certificateTypeById('household-move')!;
    const lastDay = new Date(now.getTime() + (type.validityDays - 1) * 86_400_000);
    await expect(verifyPresentation(issued, options({ now: lastDay }))).resolves.toBeDefined();
    await expectCode(verifyPresentation(issued, options({ now: new Date(now.getTime() + (type.validityDays + 1) * 86_400_000) })), 'CERTIFICATE_EXPIRED');
  });

  it('a certificate before its validFrom is refused as not yet valid', async () => {
    const issued = await issueFixture(anji, 'marriage', now, { metadata: { validFrom: chinaDate(now, 10), validUntil: chinaDate(now, 20) } });
    await expectCode(verifyPresentation(issued, options()), 'CERTIFICATE_NOT_YET_VALID');
    await expect(verifyPresentation(issued, options({ now: new Date(now.getTime() + 11 * 86_400_000) }))).resolves.toBeDefined();
  });

  it('typ must be dc+sd-jwt (vc+sd-jwt accepted), exp is required', async () => {
    const issued = await issueFixture(anji, 'marriage', now);
    await expect(verifyPresentation(await resign(issued, anji.key, { header: (h) => ({ ...h, typ: 'vc+sd-jwt' }) }), options())).resolves.toBeDefined();
    await expectCode(verifyPresentation(await resign(issued, anji.key, { header: (h) => ({ ...h, typ: 'JWT' }) }), options()), 'CERTIFICATE_MALFORMED');
    await expectCode(
      verifyPresentation(await resign(issued, anji.key, { payload: ({ exp: _exp, ...rest }) => rest }), options()),
      'CERTIFICATE_MALFORMED',
    );
    // A personal value outside any disclosure (always visible) is not a Tongban certificate.
    await expectCode(verifyPresentation(await resign(issued, anji.key, { payload: (p) => ({ ...p, holderName: '张三' }) }), options()), 'CERTIFICATE_MALFORMED');
    await expectCode(verifyPresentation(await resign(issued, anji.key, { payload: (p) => ({ ...p, jti: 'other' }) }), options()), 'CERTIFICATE_MALFORMED');
    for (const junk of ['', 'abc', 'a.b.c~', '~~', issued.split('~')[0]!]) await expectCode(verifyPresentation(junk, options()), 'CERTIFICATE_MALFORMED');
  });
});

describe.each<SigningAlgorithm>(['Ed25519', 'SM2'])('key binding (holder key %s)', (holderAlgorithm) => {
  let holder: SigningKey;
  let issued: string;
  beforeAll(async () => {
    holder = await generateSigningKey(holderAlgorithm, 'holder');
    issued = await issueFixture(anji, 'marriage', now, { holderJwk: holder.publicJwk });
  });
  const present = (extra: { now?: Date; nonce?: string; audience?: string } = {}) =>
    presentCertificate(issued, { disclose: ['holderName', 'holderIdNumber'], holderKey: holder, audience: AUDIENCE, nonce: 'n-1', now, ...extra });

  it('a bound certificate presented with a KB-JWT verifies, keyBound', async () => {
    const presented = await present();
    const kb = presented.split('~').at(-1)!;
    expect(dec(kb.split('.')[0]!)).toEqual({ typ: 'kb+jwt', alg: holderAlgorithm === 'Ed25519' ? 'EdDSA' : 'SM2' });
    await expect(verifyPresentation(presented, options({ audience: AUDIENCE, nonce: 'n-1' }))).resolves.toMatchObject({ keyBound: true });
    // Without a challenge the verifier still checks aud, iat and sd_hash.
    await expect(verifyPresentation(presented, options({ audience: AUDIENCE }))).resolves.toMatchObject({ keyBound: true });
  });

  it('refused: KB-JWT missing, wrong aud, no audience, wrong nonce, old or future iat, wrong key, wrong sd_hash', async () => {
    const presented = await present();
    const withoutKb = presented.slice(0, presented.lastIndexOf('~') + 1);
    const code = 'CERTIFICATE_KEY_BINDING_INVALID';
    await expectCode(verifyPresentation(withoutKb, options({ audience: AUDIENCE, nonce: 'n-1' })), code);
    await expectCode(verifyPresentation(presented, options({ audience: `urn:tongban:node:${ANJI}`, nonce: 'n-1' })), code);
    await expectCode(verifyPresentation(presented, options({ nonce: 'n-1' })), code);
    await expectCode(verifyPresentation(presented, options({ audience: AUDIENCE, nonce: 'n-2' })), code);
    const old = await present({ now: new Date(now.getTime() - 301_000) });
    await expectCode(verifyPresentation(old, options({ audience: AUDIENCE, nonce: 'n-1' })), code);
    await expect(verifyPresentation(old, options({ audience: AUDIENCE, nonce: 'n-1', maxKeyBindingAgeSeconds: 600 }))).resolves.toBeDefined();
    const future = await present({ now: new Date(now.getTime() + 120_000) });
    await expectCode(verifyPresentation(future, options({ audience: AUDIENCE, nonce: 'n-1' })), code);
    // The same KB-JWT payload signed by another key.
    const other = await generateSigningKey(holderAlgorithm, 'holder');
    const kb = presented.split('~').at(-1)!;
    const kbInput = kb.split('.').slice(0, 2).join('.');
    const wrongKey = `${withoutKb}${kbInput}.${toBase64url(await signBytes(other, new TextEncoder().encode(kbInput)))}`;
    await expectCode(verifyPresentation(wrongKey, options({ audience: AUDIENCE, nonce: 'n-1' })), code);
    // A disclosure dropped after the KB-JWT was made: sd_hash no longer covers the presentation.
    const p = presented.split('~');
    p.splice(2, 1);
    await expectCode(verifyPresentation(p.join('~'), options({ audience: AUDIENCE, nonce: 'n-1' })), code);
    // A KB-JWT replayed onto another presentation of the same certificate.
    const fewer = await presentCertificate(issued, { disclose: ['holderName'], holderKey: holder, audience: AUDIENCE, nonce: 'n-1', now });
    const replayed = fewer.slice(0, fewer.lastIndexOf('~') + 1) + kb;
    await expectCode(verifyPresentation(replayed, options({ audience: AUDIENCE, nonce: 'n-1' })), code);
  });

  it('a KB-JWT on a certificate bound to no key is refused', async () => {
    const unbound = await presentCertificate(await issueFixture(anji, 'marriage', now), { disclose: ['holderName'], now });
    const kb = (await present()).split('~').at(-1)!;
    await expectCode(verifyPresentation(unbound + kb, options({ audience: AUDIENCE })), 'CERTIFICATE_KEY_BINDING_INVALID');
  });

  it('the holder side refuses to present without the bound key, with another key, or without an audience', async () => {
    await expectCode(presentCertificate(issued, { disclose: ['holderName'], now }), 'VALIDATION_FAILED');
    const other = await generateSigningKey(holderAlgorithm, 'holder');
    await expectCode(presentCertificate(issued, { disclose: ['holderName'], holderKey: other, audience: AUDIENCE, now }), 'VALIDATION_FAILED');
    await expectCode(presentCertificate(issued, { disclose: ['holderName'], holderKey: holder, now }), 'VALIDATION_FAILED');
  });
});

describe('status', () => {
  it('status 1 is revoked, 2 suspended, 3 unknown; a status callback failure propagates', async () => {
    const issued = await issueFixture(anji, 'marriage', now);
    await expectCode(verifyPresentation(issued, options({ statusOf: () => Promise.resolve(1) })), 'CERTIFICATE_REVOKED');
    await expectCode(verifyPresentation(issued, options({ statusOf: () => Promise.resolve(2) })), 'CERTIFICATE_SUSPENDED');
    await expectCode(verifyPresentation(issued, options({ statusOf: () => Promise.resolve(3) })), 'CERTIFICATE_STATUS_UNAVAILABLE');
    const { TongbanError } = await import('../errors/index.ts');
    await expectCode(
      verifyPresentation(issued, options({ statusOf: () => Promise.reject(new TongbanError('CERTIFICATE_STATUS_UNAVAILABLE', 'down')) })),
      'CERTIFICATE_STATUS_UNAVAILABLE',
    );
  });
});

describe('order of checks', () => {
  it('disclosure before trust, trust before signature, signature before validity, validity before key binding and status', async () => {
    const issued = await issueFixture(anji, 'household-move', now);
    const tampered = issued.replace(/~[^~]+~$/, `~${enc(['s', 'holderName', 'x'])}~`);
    const untrusted = { trustList: trustListFor([changzhou], { now }) };
    await expectCode(verifyPresentation(tampered, options(untrusted)), 'CERTIFICATE_DISCLOSURE_INVALID');
    const impostor = await resign(issued, await generateSigningKey('Ed25519', ANJI), {});
    await expectCode(verifyPresentation(impostor, options(untrusted)), 'CERTIFICATE_ISSUER_UNTRUSTED');
    const expiredNow = new Date(now.getTime() + 60 * 86_400_000);
    await expectCode(verifyPresentation(impostor, options({ now: expiredNow })), 'CERTIFICATE_SIGNATURE_INVALID');
    const revoked = { statusOf: () => Promise.resolve(1) };
    await expectCode(verifyPresentation(issued, options({ now: expiredNow, ...revoked })), 'CERTIFICATE_EXPIRED');
    const holder = await generateSigningKey('Ed25519', 'holder');
    const bound = await issueFixture(anji, 'household-move', now, { holderJwk: holder.publicJwk });
    await expectCode(verifyPresentation(bound, options({ audience: AUDIENCE, ...revoked })), 'CERTIFICATE_KEY_BINDING_INVALID');
  });
});
