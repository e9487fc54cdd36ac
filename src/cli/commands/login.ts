import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type NodeConfig } from '../../config/index.ts';
import { TongbanError } from '../../errors/index.ts';
import { maskedIdNumber } from '../../identity/people.ts';
import { CONFIG_FILE_NAME } from '../../node/index.ts';
import { currentLogin, hubKey, revokeLogin, startDeviceLogin, TokenFile, tokenFilePath, type HubLogin } from '../login/index.ts';
import { printJson, printLines, printRecord, Refusal } from '../output.ts';
import { callNode, endpointOf, locateNode } from './locate.ts';

interface HubChoice {
  hub?: string;
  node?: string;
  federation: string;
}

/** A hub URL given on the command line: http(s), no query; without its trailing slash. */
function hubUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TongbanError('BAD_REQUEST', `--hub "${value}" is not a URL (e.g. http://127.0.0.1:7700).`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username || url.password) {
    throw new TongbanError('BAD_REQUEST', `--hub "${value}" must be the hub's http(s) URL, without query or credentials.`);
  }
  return hubKey(url.href);
}

/** A node's config: by division code (or "hub") in the federation folder, or a node folder. */
function nodeConfig(node: string, federation: string): NodeConfig {
  if (/^(\d{6}|hub)$/.test(node)) return locateNode(federation, node);
  const path = resolve(node);
  if (existsSync(path) && statSync(path).isDirectory()) return loadConfig(join(path, CONFIG_FILE_NAME), {});
  if (existsSync(path)) return loadConfig(path, {});
  throw new TongbanError('BAD_REQUEST', `--node "${node}" is neither a division code (e.g. 522732, or hub) nor a node's folder.`);
}

/** The hub a node trusts (its config), or the hub itself. */
function hubOfConfig(config: NodeConfig): string {
  return hubKey(config.hub?.url ?? endpointOf(config));
}

/** The hub to sign in at: --hub, else the hub of --node, else the hub of the federation folder. */
export function chooseHub(options: HubChoice): string {
  if (options.hub !== undefined && options.node !== undefined) throw new TongbanError('BAD_REQUEST', 'Give --hub or --node, not both.');
  if (options.hub !== undefined) return hubUrl(options.hub);
  return hubOfConfig(nodeConfig(options.node ?? 'hub', options.federation));
}

/**
 * The hub whose sign-in `login --status` shows: as `chooseHub` when a hub, a node or an existing
 * federation folder says; otherwise (no folder here) the one sign-in the token file holds.
 */
export function statusHub(options: HubChoice, file: TokenFile): string {
  if (options.hub !== undefined || options.node !== undefined || existsSync(resolve(options.federation))) return chooseHub(options);
  const hubs = Object.keys(file.read().hubs);
  if (hubs.length === 1) return hubs[0]!;
  if (hubs.length === 0) throw new Refusal('UNAUTHORIZED', 401, `Nobody is signed in (${file.path} holds no sign-in): sign in with tongban login --hub <url>.`);
  throw new TongbanError('BAD_REQUEST', `${file.path} holds sign-ins at ${hubs.length} hubs (${hubs.join(', ')}): say which with --hub.`);
}

const isLoopback = (url: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);

function whoLines(login: HubLogin, file: string): Array<[string, string | undefined]> {
  const p = login.person;
  return [
    ['name', p.name],
    ['kind', p.kind === 'staff' ? 'staff 工作人员' : 'citizen 公民'],
    ['node', p.node],
    ['roles', p.kind === 'staff' ? p.roles.join(', ') : undefined],
    ['hub', login.hub],
    ['until', `${login.expiresAt} (access token${login.refreshToken ? '; renewed with the refresh token' : ''})`],
    ['tokens', file],
  ];
}

const statusJson = (login: HubLogin, file: string, extra: Record<string, unknown> = {}) => ({ hub: login.hub, person: login.person, expiresAt: login.expiresAt, signedInAt: login.signedInAt, refreshable: login.refreshToken !== undefined, tokenFile: file, ...extra });

/**
 * `tongban login`, `tongban logout`, `tongban whoami`: people (staff and citizens) at the terminal,
 * signed in at the hub with the OAuth device flow (client tongban-cli); the tokens kept in a file
 * of the user's (docs/identity.md, "At the terminal").
 */
export function loginCommand(program: Command): void {
  const hubOptions = (command: Command) =>
    command
      .option('--hub <url>', "the hub's URL")
      .option('--node <node>', 'the hub of this node: a division code of the federation folder, or a node folder')
      .option('--federation <dir>', 'federation folder (its hub, when neither --hub nor --node is given)', 'var/demo');

  hubOptions(
    program
      .command('login')
      .description('sign in at the hub from the terminal (device flow): open the page it prints in a browser, enter the code, sign in')
      .option('--status', 'who is signed in, and until when (renews an expired access token with the refresh token)')
      .option('--json', 'print JSON lines: {verificationUri, userCode, expiresIn} first, then who signed in'),
  )
    .addHelpText('after', `\nThe tokens are kept in ${tokenFilePath()} (mode 0600; TONGBAN_HOME moves it), one sign-in per hub.\nExample:  npx tongban login --hub http://127.0.0.1:7700`)
    .action(async (options: HubChoice & { status?: boolean; json?: boolean }) => {
      const file = new TokenFile(tokenFilePath());
      const hub = options.status ? statusHub(options, file) : chooseHub(options);
      if (options.status) {
        const { login, freshness } = await currentLogin(file, hub, () => new Date());
        if (options.json) return printJson(statusJson(login, file.path, { renewed: freshness === 'renewed' }));
        printRecord([['signed in', '已登录 · yes'], ...whoLines(login, file.path), ['renewed', freshness === 'renewed' ? 'now (the access token had expired)' : undefined]]);
        return;
      }
      if (!isLoopback(hub) && hub.startsWith('http:')) process.stderr.write(`tongban: warning: the hub ${hub} is reached over plain HTTP: your tokens travel unencrypted.\n`);
      // A broken token file is said now, not after the sign-in.
      const previous = file.get(hub);
      const { start, finish } = await startDeviceLogin(hub);
      if (options.json) {
        process.stdout.write(JSON.stringify(start) + '\n');
      } else {
        printLines([
          '在浏览器中打开此页面并输入代码 · Open this page in a browser and enter the code:',
          '',
          `    ${start.verificationUri}`,
          '',
          `    代码 · Code:  ${start.userCode}`,
          '',
          ...(start.verificationUriComplete ? [`或打开（代码已填好） · Or open (the code filled in):  ${start.verificationUriComplete}`, ''] : []),
          `等待登录，代码 ${Math.round(start.expiresIn / 60)} 分钟内有效… · Waiting for the sign-in; the code is valid for ${Math.round(start.expiresIn / 60)} minutes…`,
        ]);
      }
      const login = await finish(() => new Date());
      await file.locked(async () => file.put(hub, login));
      // The sign-in it replaces ends at the hub too.
      if (previous) await revokeLogin(previous);
      if (options.json) {
        process.stdout.write(JSON.stringify(statusJson(login, file.path)) + '\n');
        return;
      }
      printLines(['', '已登录 · Signed in']);
      printRecord(whoLines(login, file.path));
    });

  hubOptions(program.command('logout').description("sign out: the refresh token is revoked at the hub and the tokens deleted from this computer").option('--json', 'print JSON')).action(
    async (options: HubChoice & { json?: boolean }) => {
      const hub = chooseHub(options);
      const file = new TokenFile(tokenFilePath());
      const login = file.get(hub);
      if (!login) {
        if (options.json) return printJson({ hub, signedOut: false, revoked: false, reason: 'not signed in' });
        printLines([`未登录 · Not signed in at ${hub}: nothing to delete.`]);
        return;
      }
      const { revoked, reason } = await revokeLogin(login);
      await file.locked(async () => file.put(hub, undefined));
      if (options.json) return printJson({ hub, signedOut: true, revoked, ...(reason ? { reason } : {}) });
      printLines([
        `已退出 · Signed out of ${hub}: the tokens are deleted from ${file.path}.`,
        revoked ? 'The hub revoked the refresh token; an access token already handed out stays valid until it expires (at most 10 minutes).' : `The hub did not revoke the refresh token (${reason}); it ends by itself within 14 days, the access token within 10 minutes.`,
      ]);
    },
  );

  program
    .command('whoami')
    .description('who you are at a node, with your hub sign-in (tongban login): the node checks your access token itself')
    .requiredOption('--node <node>', "the node: a division code of the federation folder, or the node's URL")
    .option('--hub <url>', 'the hub you signed in at (default: the hub of the node, or your only sign-in)')
    .option('--federation <dir>', 'federation folder', 'var/demo')
    .option('--token <token>', 'a hub access token instead of the stored sign-in (or TONGBAN_TOKEN)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:  npx tongban whoami --node 522732')
    .action(async (options: { node: string; hub?: string; federation: string; token?: string; json?: boolean }) => {
      const file = new TokenFile(tokenFilePath());
      const byUrl = /^https?:\/\//.test(options.node);
      const config = byUrl ? undefined : nodeConfig(options.node, options.federation);
      let token = options.token ?? process.env.TONGBAN_TOKEN;
      if (!token) {
        let hub = options.hub !== undefined ? hubUrl(options.hub) : config ? hubOfConfig(config) : undefined;
        if (!hub) {
          const hubs = Object.keys(file.read().hubs);
          if (hubs.length === 0) throw new Refusal('UNAUTHORIZED', 401, 'Not signed in at any hub: run tongban login first (or give a token with --token or TONGBAN_TOKEN).');
          if (hubs.length > 1) throw new TongbanError('BAD_REQUEST', `Signed in at ${hubs.length} hubs (${hubs.join(', ')}): say which with --hub.`);
          hub = hubs[0]!;
        }
        token = (await currentLogin(file, hub, () => new Date())).login.accessToken;
      }
      const me = (config ? await callNode(config, { method: 'GET', path: '/v1/auth/me', token }) : await callUrl(options.node, token)) as Me;
      const at = config ? `${config.node.division} ${config.node.name}` : options.node;
      if (!me.actsHere) {
        throw new Refusal('STAFF_OF_ANOTHER_NODE', 403, `You are ${me.name}, ${me.kind} of ${me.node ?? 'another node'}; staff act at their own node only, and this is ${at}.`);
      }
      if (options.json) return printJson(me);
      printRecord([
        ['name', me.name],
        ['kind', me.kind],
        ['subject', me.subject],
        ['id number', me.idNumber ? maskedIdNumber(me.idNumber) : undefined],
        ['node', me.node],
        ['roles', me.roles.length > 0 ? me.roles.join(', ') : undefined],
        ['at', at],
        ['acts here', 'yes'],
        ['via', me.via],
      ]);
    });
}

interface Me {
  subject: string;
  kind: string;
  name: string;
  idNumber?: string;
  node?: string;
  roles: string[];
  via: string;
  actsHere: boolean;
}

/** GET /v1/auth/me at a node given by URL. */
async function callUrl(node: string, token: string): Promise<unknown> {
  let url: URL;
  try {
    url = new URL('/v1/auth/me', node);
  } catch {
    throw new TongbanError('BAD_REQUEST', `--node "${node}" is not a URL.`);
  }
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
  } catch {
    throw new TongbanError('PEER_UNREACHABLE', `The node at ${node} does not answer.`);
  }
  let json: Record<string, unknown>;
  try {
    json = (await response.json()) as Record<string, unknown>;
  } catch {
    throw new TongbanError('PEER_RESPONSE_INVALID', `The server at ${node} did not answer as a Tongban node (HTTP ${response.status}).`);
  }
  if (!response.ok) throw new Refusal(typeof json.code === 'string' ? json.code : `HTTP_${response.status}`, response.status, typeof json.detail === 'string' ? json.detail : `The node answered ${response.status}.`);
  return json;
}
