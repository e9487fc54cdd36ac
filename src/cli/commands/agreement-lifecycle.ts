import type { Command } from 'commander';
import { lifecycleActionNames, type LifecycleAction } from '../../agreements/index.ts';
import { printJson, printRecord, printTable } from '../output.ts';
import { callNode, locateNode, operatorTokenOf } from './locate.ts';

interface Step {
  agreementId: string;
  seq: number;
  action: string;
  from: string;
  to: string;
  party: string;
  actor: string;
  reason: string;
  at: string;
  notified: Array<{ division: string; status: number | null; error?: string }>;
}

const describe: Record<LifecycleAction, string> = {
  suspend: 'suspend an agreement at once, with a reason: refused at this node from the next request on; the hub and the other parties are told',
  resume: 'resume an agreement this node suspended (only the suspending party may)',
  terminate: 'terminate an agreement (final)',
};

/** `tongban agreement suspend|resume|terminate <id> --node … --reason …`, through the party's own node. */
export function agreementLifecycleCommands(agreement: Command): void {
  for (const action of lifecycleActionNames) {
    agreement
      .command(action)
      .description(describe[action])
      .argument('<id>', 'the agreement id')
      .requiredOption('--node <code>', 'the party taking the step (division code)')
      .requiredOption('--reason <text>', 'why (recorded, signed and audited at every party)')
      .option('--actor <name>', 'who at the node takes the step', 'operator')
      .option('--federation <dir>', 'federation folder holding the node', 'var/demo')
      .option('--json', 'print JSON')
      .action(async (id: string, options: { node: string; reason: string; actor: string; federation: string; json?: boolean }) => {
        const node = locateNode(options.federation, options.node);
        const step = (await callNode(node, {
          method: 'POST',
          path: `/v1/operator/agreements/${encodeURIComponent(id)}/${action}`,
          token: operatorTokenOf(node),
          body: { reason: options.reason, actor: options.actor },
        })) as Step;
        if (options.json) return printJson(step);
        printRecord([
          ['agreement', step.agreementId],
          ['change', `#${step.seq} ${step.action}: ${step.from} → ${step.to}`],
          ['by', `${step.actor} at ${step.party}`],
          ['at', step.at],
          ['reason', step.reason],
        ]);
        printTable(
          ['told', 'answer'],
          step.notified.map((n) => [n.division, n.status === 200 ? 'applied' : n.status === null ? `not reached (${n.error ?? '?'}); learns it from the next snapshot` : `${n.status} ${n.error ?? ''}`]),
        );
      });
  }
}
