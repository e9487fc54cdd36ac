import type { Command } from 'commander';
import { CertificateStatus, decodeCertificate } from '../../certificates/index.ts';
import { TongbanError } from '../../errors/index.ts';
import { makeHolderProof, type CertificateView, type StatusAction } from '../../issuer/index.ts';
import { holderKey, holderKeyPath, readHolderKey } from '../holder-key.ts';
import { certHolderCommands } from './cert-holder.ts';
import { currentLogin, TokenFile, tokenFilePath } from '../login/index.ts';
import { printJson, printLines, printRecord, printTable, Refusal } from '../output.ts';
import { callHub, hubTokenFor, hubUrlOf } from './hub-call.ts';
import { namedValues } from './cases.ts';
import { callNode, locateNode } from './locate.ts';

interface Common {
  node?: string;
  hub?: string;
  token?: string;
  federation: string;
  json?: boolean;
}

/** One entry of the hub's wallet (GET /v1/wallet). */
interface WalletEntry {
  certificateId: string;
  vct: string;
  typeName: string;
  issuer: string;
  issuerName: string;
  issuedAt: string;
  expiresAt: string;
  /** Null when the issuer has left the directory. */
  endpoint: string | null;
}

function common(command: Command, nodeRequired: boolean): Command {
  const withNode = nodeRequired
    ? command.requiredOption('--node <code>', 'the issuing node (division code)')
    : command.option('--node <code>', "the issuing node (division code; default: the issuer your wallet at the hub names)");
  return withNode
    .option('--hub <url>', "the hub's URL (default: the hub of the federation folder)")
    .option('--token <token>', "a hub access token or a machine client's token (or TONGBAN_TOKEN; default: your sign-in of tongban login)")
    .option('--federation <dir>', 'federation folder', 'var/demo')
    .option('--json', 'print JSON');
}

/** A call to `node` as the person signed in (their token, or a machine client's in --token / TONGBAN_TOKEN). */
async function callAt(options: Common, node: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const config = locateNode(options.federation, node);
  let token = options.token || process.env.TONGBAN_TOKEN;
  if (!token && config.hub) {
    const file = new TokenFile(tokenFilePath());
    if (file.get(config.hub.url)) token = (await currentLogin(file, config.hub.url, () => new Date())).login.accessToken;
  }
  if (!token) throw new TongbanError('UNAUTHORIZED', 'Sign in at the hub with tongban login, or give a token with --token or TONGBAN_TOKEN.');
  return callNode(config, { method, path, token, ...(body === undefined ? {} : { body }) });
}

/** The citizen's wallet at the hub: every certificate issued to them, with its issuing node. */
async function wallet(options: Common): Promise<WalletEntry[]> {
  return (await walletWithToken(options)).certificates;
}

async function walletWithToken(options: Common): Promise<{ certificates: WalletEntry[]; token: string }> {
  const hub = hubUrlOf(options);
  const token = await hubTokenFor(hub, options.token);
  const answer = (await callHub(hub, token, 'GET', '/v1/wallet')) as unknown as { certificates: WalletEntry[] };
  return { certificates: answer.certificates, token };
}

/** What a wallet entry's issuer says of its status now; `unknown` when it does not answer as expected. */
type WalletStatus = CertificateStatus | 'unknown';

/**
 * The status of each wallet entry, asked of its issuer at the endpoint the hub's wallet names (the
 * hub's verified directory), as the holder, all at once: the wallet itself knows only issuances.
 */
async function walletStatuses(entries: readonly WalletEntry[], token: string): Promise<WalletStatus[]> {
  return Promise.all(
    entries.map(async (entry): Promise<WalletStatus> => {
      if (!entry.endpoint) return 'unknown';
      try {
        const url = new URL(`/v1/certificates/${encodeURIComponent(entry.certificateId)}`, entry.endpoint);
        if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'unknown';
        const response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
        if (!response.ok) return 'unknown';
        const status = CertificateStatus.safeParse(((await response.json()) as { status?: unknown }).status);
        return status.success ? status.data : 'unknown';
      } catch {
        return 'unknown';
      }
    }),
  );
}

/** The node that issued `id`: --node, else the issuer the holder's wallet at the hub names. */
async function issuerOf(options: Common, id: string): Promise<string> {
  if (options.node) return options.node;
  const found = (await wallet(options)).find((c) => c.certificateId === id);
  if (!found) throw new Refusal('CERTIFICATE_NOT_FOUND', 404, `Your wallet at the hub lists no certificate ${id}; name its issuing node with --node.`);
  return found.issuer;
}

const day = (iso: string) => iso.slice(0, 10);

function printCertificate(view: CertificateView): void {
  const m = view.metadata;
  printRecord([
    ['certificate', view.id],
    ['type', `${view.typeName} (${view.vct})`],
    ['number', m.number],
    ['status', `${view.status}${view.statusReason ? ` (${view.statusReason}${view.statusChangedAt ? `, ${day(view.statusChangedAt)}` : ''})` : ''}`],
    ['authority', `${m.authority} (${m.authorityCode}), ${m.division}`],
    ['issued', m.issuedOn],
    ['valid', `${m.validFrom} – ${m.validUntil}`],
    ['item', m.relatedItem],
    ['case', view.caseId],
    ['status list', `${view.statusList.uri} #${view.statusList.idx}`],
    ['bound', view.bound ? 'yes: presenting it takes your holder key' : 'no'],
  ]);
  const fields = view.sdJwt ? decodeCertificate(view.sdJwt).disclosures : undefined;
  if (fields) {
    printLines(['', 'Fields (each disclosed only if you choose to when presenting):']);
    printTable(['field', 'value'], Object.entries(fields));
  }
}

/**
 * `tongban cert`: e-certificates (docs/certificates.md). Staff issue, revoke, suspend and reinstate
 * at their node; a holder lists their wallet, shows one certificate with its fields, and binds it to
 * a key of their own (kept in holder-key.json beside the token file).
 */
export function certCommand(program: Command): void {
  const cert = program.command('cert').description('e-certificates (电子证照): issue, list, show, revoke, suspend, reinstate, bind, present, challenge, verify (see docs/certificates.md)');

  common(cert.command('issue').description("approver at the issuing node: issue the certificate of a granted case concluded there (or show the one it has)"), true)
    .requiredOption('--case <id>', 'the case id')
    .option('--certificate-field <name=value>', "a field the case's evidence lacks, e.g. spouseName=李四 (repeatable; as for case conclude)", (value: string, all: string[] = []) => [...all, value])
    .action(async (options: Common & { case: string; certificateField?: string[] }) => {
      const fields = options.certificateField ? { certificateFields: namedValues(options.certificateField, '--certificate-field') } : {};
      const answer = (await callAt(options, options.node!, 'POST', '/v1/certificates/issue', { caseId: options.case, ...fields })) as { certificate: CertificateView; created: boolean };
      if (options.json) return printJson(answer);
      printCertificate(answer.certificate);
      if (!answer.created) printLines(['', `The case already had this certificate: nothing new was issued.`]);
    });

  common(cert.command('show').description('a holder: your wallet (every certificate issued to you, from the hub, each with its status from its issuer); with an id, that certificate from its issuing node, with its fields').argument('[id]', 'the certificate id (证照标识)'), false).action(
    async (id: string | undefined, options: Common) => {
      if (id === undefined) {
        const { certificates: entries, token } = await walletWithToken(options);
        const statuses = await walletStatuses(entries, token);
        const certificates = entries.map((c, i) => ({ ...c, status: statuses[i]! }));
        if (options.json) return printJson({ certificates });
        return printTable(
          ['certificate', 'type', 'issuer', 'issued', 'expires', 'status'],
          certificates.map((c) => [c.certificateId, c.typeName, `${c.issuer} ${c.issuerName}`, day(c.issuedAt), day(c.expiresAt), c.status]),
          '(no certificate has been issued to you)',
        );
      }
      const view = (await callAt(options, await issuerOf(options, id), 'GET', `/v1/certificates/${encodeURIComponent(id)}`)) as CertificateView;
      if (options.json) return printJson(view.sdJwt ? { ...view, fields: decodeCertificate(view.sdJwt).disclosures } : view);
      printCertificate(view);
    },
  );

  common(cert.command('list').description('clerk, approver or supervisor at the issuing node: the certificates issued there, newest first (metadata and status, no personal field)'), true)
    .option('--limit <n>', 'at most this many (1–200)', (v) => Number(v), 50)
    .option('--offset <n>', 'skip this many first', (v) => Number(v), 0)
    .addHelpText('after', '\nExample:  npx tongban cert list --node 330523 --token <token>')
    .action(async (options: Common & { limit: number; offset: number }) => {
      const answer = (await callAt(options, options.node!, 'GET', `/v1/certificates?limit=${options.limit}&offset=${options.offset}`)) as { certificates: CertificateView[]; total: number };
      if (options.json) return printJson(answer);
      printTable(
        ['certificate', 'type', 'case', 'status', 'issued', 'expires', 'bound'],
        answer.certificates.map((c) => [c.id, c.typeName, c.caseId, c.status, day(c.issuedAt), day(c.expiresAt), c.bound ? 'yes' : 'no']),
        `(${options.node} has issued no certificate)`,
      );
      if (answer.total > options.offset + answer.certificates.length) printLines(['', `${answer.certificates.length} of ${answer.total}: the next with --offset ${options.offset + answer.certificates.length}.`]);
    });

  const statusCommands: ReadonlyArray<[StatusAction, string]> = [
    ['revoke', 'approver or supervisor at the issuing node: revoke a certificate (final); verifiers refuse it once their copy of the status list is refreshed'],
    ['suspend', 'approver or supervisor at the issuing node: suspend a valid certificate (reinstate undoes it)'],
    ['reinstate', 'approver or supervisor at the issuing node: reinstate a suspended certificate'],
  ];
  for (const [action, description] of statusCommands) {
    common(cert.command(action).description(description).argument('<id>', 'the certificate id'), true)
      .requiredOption('--reason <text>', 'why (recorded with the status and in the audit log)')
      .action(async (id: string, options: Common & { reason: string }) => {
        const view = (await callAt(options, options.node!, 'POST', `/v1/certificates/${encodeURIComponent(id)}/${action}`, { reason: options.reason })) as CertificateView;
        if (options.json) return printJson(view);
        printCertificate(view);
      });
  }

  common(
    cert
      .command('bind')
      .description(`a holder: bind a certificate to your own key (made on first use in ${holderKeyPath()}); presenting it then takes that key`)
      .argument('<id>', 'the certificate id'),
    false,
  ).action(async (id: string, options: Common) => {
    const node = await issuerOf(options, id);
    const key = await holderKey();
    const proof = await makeHolderProof(key, node, id, new Date());
    const view = (await callAt(options, node, 'POST', `/v1/certificates/${encodeURIComponent(id)}/bind`, { jwk: key.publicJwk, proof })) as CertificateView;
    if (options.json) return printJson({ ...view, holderKey: key.kid });
    printCertificate(view);
    printLines(['', `Bound to your holder key ${key.kid} (${holderKeyPath()}): keep that file; without it the certificate cannot be presented.`]);
  });

  // The holder's present and the verifier's challenge and verify (helper D's file).
  certHolderCommands(cert, {
    holderKey: async () => {
      const key = readHolderKey();
      if (!key) throw new TongbanError('CONFIG_INVALID', `This certificate is bound to a holder key, and there is none in ${holderKeyPath()}: present it from the machine it was bound on.`);
      return key;
    },
  });
}
