import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { PartySignature } from '../../agreements/index.ts';
import { TongbanError, validationError } from '../../errors/index.ts';
import { printJson, printRecord } from '../output.ts';
import { agreementLifecycleCommands } from './agreement-lifecycle.ts';
import { negotiationCommands, node, operatorCall, positive, printNegotiation, readTerms, type NodeOptions } from './negotiation.ts';
import { endpointOf, locateNode, operatorTokenOf } from './locate.ts';
import type { NodeConfig } from '../../config/index.ts';

const Signatures = z.array(PartySignature);

function readSignatures(path: string): PartySignature[] {
  if (!existsSync(path)) return [];
  const parsed = Signatures.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

/** POST to a node's operator API; a refusal becomes one sentence with the node's code. */
async function operatorPost(config: NodeConfig, path: string, body: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(new URL(path, endpointOf(config)), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorTokenOf(config)}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch {
    throw new TongbanError('PEER_UNREACHABLE', `Node ${config.node.division} does not answer at ${endpointOf(config)}; is it running?`);
  }
  const json = (await response.json()) as { code?: string; detail?: string };
  if (!response.ok) throw new TongbanError('BAD_REQUEST', `${config.node.division} refused (${json.code ?? response.status}): ${json.detail ?? ''}`);
  return json;
}

/**
 * Agreements between nodes that were not set up together (a region joining a running
 * federation): each party signs through its own node, then one party submits to the hub.
 */
export function agreementCommand(program: Command): void {
  const agreement = program.command('agreement').description('negotiate an agreement between parties (draft, propose, counter, accept, sign, register), or sign agreed terms and submit them to the hub');
  negotiationCommands(agreement);

  node(agreement.command('accept').description('accept the latest round of a --negotiation, or the whole terms in --file (agreed outside a negotiation): a node signs only what it accepted'))
    .option('--negotiation <id>', 'the negotiation')
    .option('--round <n>', 'with --negotiation: the round accepted (default: the latest this node knows)', positive)
    .option('--file <path>', 'the agreement accepted as a whole')
    .option('--operator <id>', 'who accepts')
    .action(async (o: NodeOptions & { negotiation?: string; round?: number; file?: string; operator?: string }) => {
      if (!o.negotiation === !o.file) throw new TongbanError('BAD_REQUEST', 'Give either --negotiation or --file.');
      if (o.file) {
        const answer = await operatorCall(o, 'POST', '/v1/operator/agreements/accept', { agreement: readTerms(o.file), ...(o.operator ? { operator: o.operator } : {}) });
        return o.json ? printJson(answer) : printRecord(Object.entries(answer as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      }
      const answer = (await operatorCall(o, 'POST', `/v1/operator/agreements/drafts/${encodeURIComponent(o.negotiation!)}/actions`, {
        action: 'accept',
        ...(o.round ? { round: o.round } : {}),
        ...(o.operator ? { operator: o.operator } : {}),
      })) as { negotiation: Parameters<typeof printNegotiation>[0]; forwardedTo?: string };
      if (o.json) printJson(answer);
      else printNegotiation(answer.negotiation, answer.forwardedTo);
    });

  agreement
    .command('sign')
    .description("sign with a party node's key: the latest round of a --negotiation it accepted, or the agreement in --file (accepted before with agreement accept --file) adding the signature to --signatures")
    .requiredOption('--node <code>', 'the signing party (division code)')
    .option('--negotiation <id>', 'the negotiation')
    .option('--file <path>', 'the agreement (JSON: id, version, title, parties, topology, validFrom, validUntil, items)')
    .option('--signatures <path>', 'with --file: JSON file collecting the parties’ signatures (created if missing)')
    .option('--operator <id>', 'who signs')
    .option('--federation <dir>', 'federation folder holding the node', 'var/demo')
    .option('--json', 'print JSON')
    .action(async (options: NodeOptions & { negotiation?: string; file?: string; signatures?: string; operator?: string }) => {
      if (options.negotiation) {
        const answer = (await operatorCall(options, 'POST', `/v1/operator/agreements/drafts/${encodeURIComponent(options.negotiation)}/actions`, {
          action: 'sign',
          ...(options.operator ? { operator: options.operator } : {}),
        })) as { negotiation: Parameters<typeof printNegotiation>[0]; forwardedTo?: string };
        return options.json ? printJson(answer) : printNegotiation(answer.negotiation, answer.forwardedTo);
      }
      if (!options.file || !options.signatures) throw new TongbanError('BAD_REQUEST', 'Give --negotiation, or --file with --signatures.');
      const terms = readTerms(options.file);
      const signature = PartySignature.parse(await operatorCall(options, 'POST', '/v1/operator/agreements/sign', { agreement: terms }));
      const signatures = [...readSignatures(options.signatures).filter((s) => s.division !== signature.division), signature];
      writeFileSync(options.signatures, JSON.stringify(signatures, null, 2) + '\n');
      const missing = terms.parties.filter((p) => !signatures.some((s) => s.division === p));
      printJson({ agreement: terms.id, version: terms.version, signedBy: signatures.map((s) => s.division), missing });
    });

  agreement
    .command('submit')
    .description('submit the agreement and every party’s signature to the hub, through a party node')
    .requiredOption('--node <code>', 'the submitting party (division code)')
    .requiredOption('--file <path>', 'the agreement')
    .requiredOption('--signatures <path>', 'the signatures collected with "tongban agreement sign"')
    .option('--federation <dir>', 'federation folder holding the nodes', 'var/demo')
    .action(async (options: { node: string; file: string; signatures: string; federation: string }) => {
      const terms = readTerms(options.file);
      const signatures = readSignatures(options.signatures);
      const missing = terms.parties.filter((p) => !signatures.some((s) => s.division === p));
      if (missing.length > 0) throw new TongbanError('BAD_REQUEST', `${terms.id} still needs the signature of ${missing.join(', ')} (tongban agreement sign --node …).`);
      const node = locateNode(options.federation, options.node);
      const registration = await operatorPost(node, '/v1/operator/agreements/submit', { agreement: terms, signatures });
      // The other parties would pick the agreement up at their next directory refresh; those
      // this folder holds fetch it now, so that it can be used straight away.
      for (const party of terms.parties.filter((p) => p !== options.node)) {
        try {
          await operatorPost(locateNode(options.federation, party), '/v1/operator/directory/refresh', {});
        } catch {
          // Not in this folder or not running: it refreshes by itself.
        }
      }
      printJson(registration);
    });

  agreementLifecycleCommands(agreement);
}
