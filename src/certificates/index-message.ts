import { z } from 'zod';
import { validationError } from '../errors/index.ts';
import { validateLicenseId } from '../standards/index.ts';

/**
 * The message an issuer node sends the hub when it has issued a certificate (node → hub, over the
 * messaging outbox, signed by the issuer): the hub files it in its certificate index under its own
 * keyed hash of the holder's ID number — the citizen's wallet (`GET /v1/wallet`) and data tracker
 * read it there. The hub files it only from a node the trust list authorises for that `vct`, and
 * only a certificate id that names that issuer's authority code (GB/T 36904: `…<typeCode>.<issuer
 * credit code>.<serial>.<version>.<check>`).
 */
export const CERTIFICATE_ISSUED_KIND = 'certificate.issued';

export const CertificateIssuedMessage = z
  .object({
    /** GB/T 36904 identifier (证照标识), as the certificate's `jti` and metadata `id`. */
    certificateId: z
      .string()
      .max(150)
      .refine((id) => validateLicenseId(id).valid && validateLicenseId(id).value === id, 'a GB/T 36904 e-licence identifier in its normalised form'),
    vct: z.string().regex(/^urn:tongban:certificate:[a-z][a-z0-9-]{1,40}$/, 'urn:tongban:certificate:<type id>'),
    /** The holder's ID number (GB 11643; a GB 32100 credit code for an entity's certificate). Travels sealed or signed, is filed only as a keyed hash. */
    holderIdNumber: z.string().regex(/^[0-9A-Z]{15,18}$/),
    issuedAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    /** Where its status is published: the issuer's status list (`<issuer endpoint>/v1/certificates/status-lists/<list>`) and its index there. */
    status: z.object({ list: z.number().int().min(0).max(2_147_483_647), index: z.number().int().min(0).max(2_147_483_647) }).strict().optional(),
  })
  .strict()
  .refine((m) => Date.parse(m.expiresAt) > Date.parse(m.issuedAt), { message: 'a certificate expires after it is issued', path: ['expiresAt'] });
export type CertificateIssuedMessage = z.infer<typeof CertificateIssuedMessage>;

/**
 * The outgoing message for `messages.send(tx, …)` in the transaction that issues the certificate
 * (so the hub hears of every certificate issued, and of none that was not):
 *
 * ```ts
 * await messages.send(tx, certificateIssuedMessage(hubDivision, { certificateId, vct, holderIdNumber, issuedAt, expiresAt, status }));
 * ```
 */
export function certificateIssuedMessage(
  hub: string,
  input: CertificateIssuedMessage,
): { destination: string; kind: typeof CERTIFICATE_ISSUED_KIND; conversation: string; payload: CertificateIssuedMessage } {
  const parsed = CertificateIssuedMessage.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error);
  // One conversation: the hub files them in the order issued (a refused one holds up nothing).
  return { destination: hub, kind: CERTIFICATE_ISSUED_KIND, conversation: 'certificate:index', payload: parsed.data };
}
