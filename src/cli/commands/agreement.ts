import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { Agreement, PartySignature } from '../../agreements/index.ts';
import { TongbanError, validationError } from '../../errors/index.ts';
import { printJson } from '../output.ts';
import { agreementLifecycleCommands } from './agreement-lifecycle.ts';
import { endpointOf, locateNode, operatorTokenOf } from './locate.ts';
import type { NodeConfig } from '../../config/index.ts';

const Signatures = z.array(PartySignature);

function readAgreement(path: string): Agreement {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new TongbanError('VALIDATION_FAILED', `${path} cannot be read as JSON.`);
  }
  const parsed = Agreement.safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

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
  const agreement = program.command('agreement').description('sign an agreement as a party, and submit it to the hub once every party has signed');

  agreement
    .command('sign')
    .description("sign the agreement in --file with a party node's key and add the signature to the --signatures file")
    .requiredOption('--node <code>', 'the signing party (division code)')
    .requiredOption('--file <path>', 'the agreement (JSON: id, version, title, parties, topology, validFrom, validUntil, items)')
    .requiredOption('--signatures <path>', 'JSON file collecting the parties’ signatures (created if missing)')
    .option('--federation <dir>', 'federation folder holding the node', 'var/demo')
    .action(async (options: { node: string; file: string; signatures: string; federation: string }) => {
      const terms = readAgreement(options.file);
      const node = locateNode(options.federation, options.node);
      const signature = PartySignature.parse(await operatorPost(node, '/v1/operator/agreements/sign', { agreement: terms }));
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
      const terms = readAgreement(options.file);
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
