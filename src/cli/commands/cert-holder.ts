import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { decodeCertificate, nodeUrn, presentCertificate } from '../../certificates/index.ts';
import type { SigningKey } from '../../crypto/index.ts';
import { TongbanError } from '../../errors/index.ts';
import { formatRecord, printJson, printLines, printTable, Refusal } from '../output.ts';
import { call, common, type Common } from './cases.ts';
import { callHub, hubTokenFor, hubUrlOf } from './hub-call.ts';
import { callNode, locateNode } from './locate.ts';

const list = (value: string) =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

/** A presentation from a file, or from standard input for `-`. */
export function readPresentation(source: string): string {
  let text: string;
  try {
    text = source === '-' ? readFileSync(0, 'utf8') : readFileSync(source, 'utf8');
  } catch {
    throw new TongbanError('VALIDATION_FAILED', `Cannot read the presentation from ${source === '-' ? 'standard input' : source}.`);
  }
  const presentation = text.trim();
  if (!presentation) throw new TongbanError('VALIDATION_FAILED', `${source === '-' ? 'Standard input' : source} holds no presentation.`);
  return presentation;
}

interface VerificationJson {
  certificate: { id: string; typeName: string; authority: string; division: string; validFrom: string; validUntil: string; relatedItem: string };
  vct: string;
  issuer: string;
  disclosed: Record<string, string>;
  withheld: string[];
  keyBound: boolean;
  status: string;
}

interface PresentOptions {
  fields: string;
  json?: boolean;
  node?: string;
  audience?: string;
  nonce?: string;
  out?: string;
  hub?: string;
  token?: string;
  federation: string;
}

/**
 * The holder's and the verifier's subcommands of `tongban cert`: `present` (a citizen, on their
 * own machine: the issuer hands them their certificate, and they choose here what to disclose —
 * no node learns which fields), `challenge` and `verify` (staff of a verifying node).
 */
export function certHolderCommands(cert: Command, options: { holderKey?: () => Promise<SigningKey> } = {}): void {
  cert
    .command('present')
    .description('a holder: make a presentation of one of your certificates that discloses only the fields you name (key-bound certificates: signed with your holder key for the verifier and its challenge)')
    .argument('<id>', 'the certificate id (tongban cert show lists yours)')
    .requiredOption('--fields <list>', 'the fields to disclose, comma-separated, e.g. holderName,holderIdNumber,spouseName')
    .option('--node <code>', 'the issuing node (default: found in your wallet at the hub)')
    .option('--audience <division>', 'the verifying node (needed for a key-bound certificate), e.g. 320400')
    .option('--nonce <nonce>', "the verifier's challenge (tongban cert challenge at that node)")
    .option('--out <file>', 'write the presentation to this file (mode 0600) instead of standard output')
    .option('--hub <url>', "the hub's URL (default: the hub of the federation folder)")
    .option('--token <token>', 'your hub access token (or TONGBAN_TOKEN; default: your sign-in of tongban login)')
    .option('--federation <dir>', 'federation folder', 'var/demo')
    .option('--json', 'print JSON: {file, disclosed, withheld, keyBound} with --out, else {presentation, disclosed, withheld, keyBound}')
    .addHelpText('after', '\nExample:  npx tongban cert present <id> --fields holderName,holderIdNumber,spouseName --audience 320400 --nonce <nonce> --out marriage.sdjwt')
    .action(async (id: string, o: PresentOptions) => {
      const fields = list(o.fields);
      if (fields.length === 0) throw new TongbanError('VALIDATION_FAILED', '--fields names no field.');
      if (o.audience !== undefined && !/^\d{6}$/.test(o.audience)) throw new TongbanError('VALIDATION_FAILED', '--audience is the verifying node’s six-digit division code.');
      const issued = await fetchIssued(id, o);
      const decoded = decodeCertificate(issued);
      const bound = decoded.boundJwk !== undefined;
      const carried = Object.keys(decoded.disclosures);
      const absent = fields.filter((name) => !carried.includes(name));
      if (absent.length > 0) throw new TongbanError('VALIDATION_FAILED', `This ${decoded.metadata.typeName} has no field ${absent.join(', ')}: --fields takes ${carried.join(', ')}.`);
      if (bound && !o.audience) {
        throw new TongbanError('VALIDATION_FAILED', 'This certificate is bound to your holder key: it is presented to one verifier. Pass --audience <division> --nonce <nonce>, the nonce from tongban cert challenge at that verifier.');
      }
      const presentation = await presentCertificate(issued, {
        disclose: fields,
        now: new Date(),
        ...(o.audience ? { audience: nodeUrn(o.audience) } : {}),
        ...(o.nonce ? { nonce: o.nonce } : {}),
        ...(bound ? { holderKey: await holderKeyOf(options) } : {}),
      });
      // Field names only: the values are in the presentation, nowhere else.
      const summary = { disclosed: fields, withheld: carried.filter((name) => !fields.includes(name)), keyBound: bound };
      if (!o.out) return o.json ? printJson({ presentation, ...summary }) : printLines([presentation]);
      // It holds the disclosed values: the holder's file alone.
      writeFileSync(o.out, presentation + '\n', { mode: 0o600 });
      if (o.json) return printJson({ file: o.out, ...summary });
      process.stderr.write(`tongban: wrote the presentation (${fields.join(', ')}) to ${o.out}\n`);
    });

  common(cert.command('challenge').description('staff of a verifying node: a single-use challenge (valid 5 minutes) for a holder to present a key-bound certificate here'))
    .addHelpText('after', '\nExample:  npx tongban cert challenge --node 320400')
    .action(async (o: Common) => {
      const json = (await call(o, 'POST', '/v1/certificates/challenges', {})) as { nonce: string; audience: string; expiresAt: string };
      if (o.json) return printJson(json);
      printLines(formatRecord([
        ['nonce', json.nonce],
        ['audience', json.audience],
        ['expires', json.expiresAt],
      ]));
      printLines(['', `The holder presents with --audience ${o.node} --nonce ${json.nonce}; verify with --nonce ${json.nonce}.`]);
    });

  common(cert.command('verify').description("staff of a verifying node: verify a holder's presentation for a reason of use (用证事由); audited with you and the reason, and shown in the holder's data tracker"))
    .requiredOption('--presentation <file>', 'the presentation file, or - for standard input')
    .requiredOption('--reason <text>', 'why the certificate is used (用证事由), 2–200 characters')
    .option('--nonce <nonce>', 'the challenge the holder answered (key-bound certificates)')
    .addHelpText('after', '\nExample:  npx tongban cert verify --node 320400 --presentation marriage.sdjwt --reason 夫妻投靠户口迁移')
    .action(async (o: Common & { presentation: string; reason: string; nonce?: string }) => {
      const body = { presentation: readPresentation(o.presentation), reason: o.reason, ...(o.nonce ? { nonce: o.nonce } : {}) };
      const json = (await call(o, 'POST', '/v1/certificates/verify', body)) as VerificationJson;
      if (o.json) return printJson(json);
      const m = json.certificate;
      printLines(formatRecord([
        ['certificate', m.id],
        ['type', `${m.typeName} (${json.vct})`],
        ['issuer', `${json.issuer} ${m.authority}`],
        ['valid', `${m.validFrom} – ${m.validUntil}`],
        ['status', json.status],
        ['key-bound', json.keyBound ? 'yes (challenge answered)' : 'no'],
        ['withheld', json.withheld.length > 0 ? json.withheld.join(', ') : undefined],
      ]));
      printLines(['']);
      printTable(['field', 'value'], Object.entries(json.disclosed), '(no personal field disclosed)');
    });
}

/** The certificate as the issuer hands it to its holder (with all disclosures): from --node, else from the issuer the wallet names. */
async function fetchIssued(id: string, o: PresentOptions): Promise<string> {
  let node = o.node;
  if (!node) {
    const hub = hubUrlOf(o);
    const wallet = (await callHub(hub, await hubTokenFor(hub, o.token), 'GET', '/v1/wallet')) as { certificates?: Array<{ certificateId: string; issuer: string }> };
    node = wallet.certificates?.find((c) => c.certificateId === id)?.issuer;
    if (!node) throw new Refusal('CERTIFICATE_NOT_FOUND', 404, `Your wallet at ${hub} lists no certificate ${id}; name its issuing node with --node.`);
  }
  const config = locateNode(o.federation, node);
  const hub = config.hub?.url.replace(/\/+$/, '') ?? hubUrlOf(o);
  const answer = (await callNode(config, { method: 'GET', path: `/v1/certificates/${encodeURIComponent(id)}`, token: await hubTokenFor(hub, o.token) })) as { sdJwt?: unknown };
  if (typeof answer.sdJwt !== 'string') throw new TongbanError('PEER_RESPONSE_INVALID', 'The issuer did not hand over the certificate (no sdJwt in its answer): is it yours?');
  return answer.sdJwt;
}

async function holderKeyOf(options: { holderKey?: () => Promise<SigningKey> }): Promise<SigningKey> {
  if (!options.holderKey) throw new TongbanError('VALIDATION_FAILED', 'This certificate is bound to your holder key, which this command cannot read.');
  return options.holderKey();
}
