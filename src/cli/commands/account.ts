import type { Command } from 'commander';
import { printJson, printLines, printRecord, printTable } from '../output.ts';
import { callNode, locateNode, operatorTokenOf } from './locate.ts';

interface Common {
  node: string;
  federation: string;
  json?: boolean;
}

interface ClientJson {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  revokedAt: string | null;
  revoked: boolean;
}

const OPERATOR_NOTE = "\nRuns on the node's machine: it uses the operator token in the node's folder.";

function common(command: Command): Command {
  return command
    .requiredOption('--node <code>', 'the node (division code, or hub)')
    .option('--federation <dir>', 'federation folder', 'var/demo')
    .option('--json', 'print JSON');
}

interface StaffJson {
  id: string;
  login: string;
  name: string;
  node: string | null;
  roles: string[];
  disabled: boolean;
  createdAt: string;
}

/** Everything piped in, without the one line ending `echo` or a file adds. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * `tongban account`: the machine clients of a node — named bearer tokens, each scoped to one role,
 * revocable — and (`tongban account staff`) the node's staff, people who sign in at the hub,
 * enrolled and disabled there through the node. People sign in at the hub (`tongban login`, or a
 * browser at GET /v1/auth/login).
 */
export function accountCommand(program: Command): void {
  const account = program.command('account').description("machine clients of a node (named tokens, one role each, revocable) and its staff at the hub");

  common(
    account
      .command('add')
      .description("the node's operator: create a machine client for one role; prints its token once")
      .requiredOption('--id <id>', 'client id, e.g. counter-kiosk-1')
      // Checked by the node, which says why a role is refused (citizens sign in at the hub).
      .requiredOption('--role <role>', 'its one staff role: clerk, approver or supervisor (they take case steps), dataAdmin or operator')
      .requiredOption('--name <name>'),
  )
    .addHelpText(
      'after',
      `${OPERATOR_NOTE}\nCitizens get no account: they sign in at the hub and act with their own sign-in.\nExample:  npx tongban account add --node 522732 --id clerk-wang --role clerk --name 王`,
    )
    .action(async (options: Common & { id: string; role: string; name: string }) => {
      const config = locateNode(options.federation, options.node);
      const json = (await callNode(config, {
        method: 'POST',
        path: '/v1/operator/accounts',
        token: operatorTokenOf(config),
        body: { id: options.id, role: options.role, name: options.name },
      })) as { id: string; role: string; token: string };
      if (options.json) return printJson(json);
      printRecord([
        ['account', `${json.id} (${json.role}) at ${config.node.division} ${config.node.name}`],
        ['token', json.token],
      ]);
      printLines(['', 'The token is shown once: keep it, and pass it with --token or TONGBAN_TOKEN.']);
    });

  common(account.command('list').description("the node's machine clients, revoked ones included (never their tokens)"))
    .option('--limit <n>', 'at most this many', '100')
    .option('--offset <n>', 'skip this many', '0')
    .addHelpText('after', OPERATOR_NOTE)
    .action(async (options: Common & { limit: string; offset: string }) => {
      const config = locateNode(options.federation, options.node);
      const json = (await callNode(config, {
        method: 'GET',
        path: `/v1/operator/accounts?limit=${encodeURIComponent(options.limit)}&offset=${encodeURIComponent(options.offset)}`,
        token: operatorTokenOf(config),
      })) as { clients: ClientJson[]; total: number };
      if (options.json) return printJson(json);
      printTable(
        ['id', 'role', 'name', 'created', 'revoked'],
        json.clients.map((c) => [c.id, c.role, c.name, c.createdAt, c.revokedAt ?? '-']),
      );
      if (json.total > json.clients.length) printLines([`(${json.clients.length} of ${json.total}; --offset for more)`]);
    });

  common(account.command('revoke').description('revoke a machine client: its token is refused from the next request on').argument('<id>', 'the client id'))
    .addHelpText('after', OPERATOR_NOTE)
    .action(async (id: string, options: Common) => {
      const config = locateNode(options.federation, options.node);
      const json = (await callNode(config, { method: 'POST', path: `/v1/operator/accounts/${encodeURIComponent(id)}/revoke`, token: operatorTokenOf(config), body: {} })) as ClientJson;
      if (options.json) return printJson(json);
      printRecord([
        ['account', `${json.id} (${json.role}) at ${config.node.division} ${config.node.name}`],
        ['revoked', json.revokedAt ?? '-'],
      ]);
    });

  staffCommands(account);
}

const STAFF_NOTE = "\nRuns on the node's machine: it uses the operator token in the node's folder. The node forwards the request to the hub, signed with its key.";

interface GrantJson {
  login: string;
  roles: string[];
  grantedAt: string;
  revokedAt: string | null;
  locked: boolean;
}

/** `tongban account staff add|grant|grants|revoke-grant|list|disable`: the node's staff, who sign in at the hub. */
function staffCommands(account: Command): void {
  const staff = account.command('staff').description("the node's staff, people who sign in at the hub: enrolled and disabled there through the node");

  common(
    staff
      .command('add')
      .description("enrol a staff member of the node at the hub; without --password-stdin a strong password is generated and printed once")
      .requiredOption('--login <login>', "name, or name@<the node's division> (e.g. zhao or zhao@330523)")
      .requiredOption('--name <name>', 'their name')
      .option('--role <role>', 'a role: clerk, approver, supervisor, dataAdmin or operator (repeat for more)', collect, [] as string[])
      .option('--password-stdin', 'read the password from standard input (at least 10 characters)'),
  )
    .addHelpText('after', `${STAFF_NOTE}\nExample:  npx tongban account staff add --node 330523 --login zhao --name 赵 --role clerk`)
    .action(async (options: Common & { login: string; name: string; role: string[]; passwordStdin?: boolean }) => {
      const config = locateNode(options.federation, options.node);
      const password = options.passwordStdin ? await readStdin() : undefined;
      const json = (await callNode(config, {
        method: 'POST',
        path: '/v1/operator/staff',
        token: operatorTokenOf(config),
        body: { login: options.login, name: options.name, roles: options.role, ...(password === undefined ? {} : { password }) },
      })) as { staff: StaffJson; generatedPassword?: string; generatedPassphrase?: string };
      if (options.json) return printJson(json);
      printRecord([
        ['staff', `${json.staff.login} (${json.staff.roles.join(', ')}) at ${config.node.division} ${config.node.name}`],
        ['name', json.staff.name],
        ...(json.generatedPassword === undefined ? [] : [['password', json.generatedPassword] as [string, string]]),
        ...(json.generatedPassphrase === undefined ? [] : [['node passphrase', json.generatedPassphrase] as [string, string]]),
      ]);
      printLines(
        json.generatedPassword === undefined
          ? ['', `They sign in at the hub as ${json.staff.login} with the password given.`]
          : ['', `The password is shown once: hand it to ${json.staff.login} in person. They sign in at the hub with it.`],
      );
      if (json.generatedPassphrase !== undefined) printLines([`The node passphrase is shown once too: this node asks ${json.staff.login} for it to sign, register, resume or terminate an agreement. The hub never sees it.`]);
    });

  common(
    staff
      .command('grant')
      .description("let a staff member administer this node (roles dataAdmin, operator): the hub's role claim alone is not enough; a node passphrase is generated and printed once unless --passphrase-stdin")
      .argument('<login>', "name, or name@<the node's division>")
      .option('--role <role>', 'dataAdmin or operator (repeat for both)', collect, [] as string[])
      .option('--passphrase-stdin', 'read the node passphrase from standard input (at least 12 characters)'),
  )
    .addHelpText('after', `\nRuns on the node's machine with the operator token; nothing goes to the hub. Granting again replaces the passphrase and unlocks a grant locked by wrong passphrases.\nExample:  npx tongban account staff grant dataadmin --node 330523 --role dataAdmin`)
    .action(async (login: string, options: Common & { role: string[]; passphraseStdin?: boolean }) => {
      const config = locateNode(options.federation, options.node);
      const passphrase = options.passphraseStdin ? await readStdin() : undefined;
      const json = (await callNode(config, {
        method: 'POST',
        path: `/v1/operator/staff/${encodeURIComponent(login)}/admin-grant`,
        token: operatorTokenOf(config),
        body: { roles: options.role, ...(passphrase === undefined ? {} : { passphrase }) },
      })) as { grant: GrantJson; generatedPassphrase?: string };
      if (options.json) return printJson(json);
      printRecord([
        ['granted', `${json.grant.login}: ${json.grant.roles.join(', ')} at ${config.node.division} ${config.node.name}`],
        ...(json.generatedPassphrase === undefined ? [] : [['node passphrase', json.generatedPassphrase] as [string, string]]),
      ]);
      if (json.generatedPassphrase !== undefined) printLines(['', `The node passphrase is shown once: hand it to ${json.grant.login} in person. This node asks for it to sign, register, resume or terminate an agreement.`]);
    });

  common(staff.command('grants').description("who this node lets administer it: the node-local grants (login, roles, granted, revoked, locked)")).action(async (options: Common) => {
    const config = locateNode(options.federation, options.node);
    const json = (await callNode(config, { method: 'GET', path: '/v1/operator/admin-grants', token: operatorTokenOf(config) })) as GrantJson[];
    if (options.json) return printJson(json);
    if (json.length === 0) return printLines([`Node ${config.node.division} has granted nobody the administering roles.`]);
    printTable(
      ['login', 'roles', 'granted', 'revoked', 'locked'],
      json.map((g) => [g.login, g.roles.join(','), g.grantedAt, g.revokedAt ?? '', g.locked ? 'yes' : 'no']),
    );
  });

  common(staff.command('revoke-grant').description("withdraw this node's grant: from their next request on they administer nothing here, whatever the hub says").argument('<login>', "name, or name@<the node's division>")).action(
    async (login: string, options: Common) => {
      const config = locateNode(options.federation, options.node);
      const json = (await callNode(config, { method: 'POST', path: `/v1/operator/staff/${encodeURIComponent(login)}/admin-grant/revoke`, token: operatorTokenOf(config), body: {} })) as GrantJson;
      if (options.json) return printJson(json);
      printRecord([['revoked', `${json.login} at ${config.node.division} ${config.node.name} (${json.revokedAt})`]]);
    },
  );

  common(staff.command('list').description("the node's staff as the hub holds them: login, name, roles, disabled"))
    .option('--limit <n>', 'at most this many', '100')
    .option('--offset <n>', 'skip this many', '0')
    .addHelpText('after', STAFF_NOTE)
    .action(async (options: Common & { limit: string; offset: string }) => {
      const config = locateNode(options.federation, options.node);
      const json = (await callNode(config, {
        method: 'GET',
        path: `/v1/operator/staff?limit=${encodeURIComponent(options.limit)}&offset=${encodeURIComponent(options.offset)}`,
        token: operatorTokenOf(config),
      })) as { staff: Array<Omit<StaffJson, 'id' | 'node'>>; total: number };
      if (options.json) return printJson(json);
      if (json.total === 0) return printLines([`Node ${config.node.division} has no staff at the hub yet.`]);
      printTable(
        ['login', 'name', 'roles', 'disabled', 'created'],
        json.staff.map((s) => [s.login, s.name, s.roles.join(','), s.disabled ? 'yes' : 'no', s.createdAt]),
      );
      if (json.total > json.staff.length) printLines([`(${json.staff.length} of ${json.total}; --offset for more)`]);
    });

  common(
    staff
      .command('disable')
      .description("disable a staff member at the hub (they can no longer sign in) and end their sessions at this node at once")
      .argument('<login>', "name, or name@<the node's division>"),
  )
    .addHelpText('after', `${STAFF_NOTE}\nAn access token the hub issued them before stays valid until it expires (at most 10 minutes), and sessions at other nodes until they end.`)
    .action(async (login: string, options: Common) => {
      const config = locateNode(options.federation, options.node);
      const json = (await callNode(config, { method: 'POST', path: `/v1/operator/staff/${encodeURIComponent(login)}/disable`, token: operatorTokenOf(config), body: {} })) as {
        staff: StaffJson;
        sessionsEnded: number;
      };
      if (options.json) return printJson(json);
      printRecord([
        ['staff', `${json.staff.login} at ${config.node.division} ${config.node.name}`],
        ['disabled', json.staff.disabled ? 'yes' : 'no'],
        ['sessions ended', String(json.sessionsEnded)],
      ]);
    });
}
