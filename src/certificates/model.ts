import { z } from 'zod';
import { PublicJwk } from '../crypto/index.ts';

const Division = z.string().regex(/^\d{6}$/, 'a division code has six digits');

/** GB/T 36903 metadata, always disclosed (not personal). */
export const CertificateMetadata = z
  .object({
    /** 证照标识, GB/T 36904 (buildLicenseId). */
    id: z.string().min(1).max(200),
    /** 证照编号 (the serial). */
    number: z.string().min(1).max(64),
    typeCode: z.string().min(1).max(64),
    typeName: z.string().min(1).max(100),
    authority: z.string().min(1).max(200),
    /** The issuing authority's unified social credit code. */
    authorityCode: z.string().min(1).max(18),
    issuedOn: z.iso.date(),
    validFrom: z.iso.date(),
    validUntil: z.iso.date(),
    /** 证照所属管辖属地编码: the issuing node's division. */
    division: Division,
    holderCodeType: z.enum(['111', '001']),
    /** 关联事项: the catalogue item code. */
    relatedItem: z.string().min(1).max(20),
    caseId: z.string().min(1).max(100).optional(),
  })
  .strict();
export type CertificateMetadata = z.infer<typeof CertificateMetadata>;

export const CertificateStatus = z.enum(['valid', 'revoked', 'suspended']);
export type CertificateStatus = z.infer<typeof CertificateStatus>;

/** `urn:tongban:node:<division>`: the `iss` of certificates and status lists. */
export const NODE_URN_PREFIX = 'urn:tongban:node:';
export const nodeUrn = (division: string): string => NODE_URN_PREFIX + division;

export const CertificateHeader = z
  .object({
    alg: z.enum(['EdDSA', 'SM2']),
    // dc+sd-jwt is current; vc+sd-jwt is what earlier drafts (and wallets) wrote.
    typ: z.enum(['dc+sd-jwt', 'vc+sd-jwt']),
    kid: z.string().min(1).max(200),
  })
  .loose();
export type CertificateHeader = z.infer<typeof CertificateHeader>;

const Seconds = z.number().int().nonnegative();

/**
 * The issuer-signed payload as it travels: personal fields are not here but in disclosures,
 * each one referenced from `_sd` by its digest. `.strict()`: a personal value outside a
 * disclosure (always visible) is refused.
 */
export const CertificatePayload = z
  .object({
    iss: z.string().regex(/^urn:tongban:node:\d{6}$/),
    vct: z.string().min(1).max(200),
    iat: Seconds,
    nbf: Seconds,
    exp: Seconds,
    jti: z.string().min(1).max(200),
    status: z.object({ status_list: z.object({ idx: z.number().int().nonnegative(), uri: z.url({ protocol: /^https?$/ }) }).strict() }).strict(),
    cnf: z.object({ jwk: PublicJwk }).strict().optional(),
    certificate: CertificateMetadata,
    _sd: z.array(z.string().regex(/^[A-Za-z0-9_-]{43}$/)).max(100),
    _sd_alg: z.literal('sha-256'),
  })
  .strict();
export type CertificatePayload = z.infer<typeof CertificatePayload>;

export interface VerifiedCertificate {
  metadata: CertificateMetadata;
  vct: string;
  /** The issuing node's division. */
  issuer: string;
  kid: string;
  /** Only the personal fields the presentation disclosed. */
  disclosed: Record<string, string>;
  /** Names (only) of the type's fields the presentation did not disclose. */
  withheld: string[];
  /** Anything else throws. */
  status: 'valid';
  /** A KB-JWT was checked. */
  keyBound: boolean;
  issuedAt: string;
  expiresAt: string;
}
