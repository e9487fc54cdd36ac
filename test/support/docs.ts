import { expect } from 'vitest';
import { startTongban, type CliResult } from './cli.ts';
import { approveDevice } from './identity.ts';

/**
 * What the tests that run the docs' worked examples share: reading a page's ```sh blocks, filling
 * its <placeholders> from earlier outputs, and `tongban login` played as the person would.
 */

/** The lines of a page's ```sh blocks: `\` continuations joined, each split into command and comment. */
export function shLines(markdown: string): Array<{ command: string; comment: string }> {
  const lines: Array<{ command: string; comment: string }> = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.replace(/\\\n\s*/g, ' ').split('\n')) {
      const [, command, comment] = /^([^#]*?)\s*(?:#\s*(.*))?$/.exec(line.trim())!;
      if (command) lines.push({ command: command!, comment: comment ?? '' });
    }
  }
  return lines;
}

/** The commands of a page's ```sh blocks (comments dropped). */
export const shCommands = (markdown: string): string[] => shLines(markdown).map((l) => l.command);

/** Splits a command line as a shell would for these pages: whitespace-separated words, "…" quoted. */
export const words = (command: string): string[] => [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);

/** The value after `label` at the start of a line of the CLI's output. */
export const field = (output: string, label: string): string | undefined => new RegExp(`^${label}\\s+(\\S+)`, 'm').exec(output)?.[1];

/** The command with each <placeholder> replaced by what an earlier output gave it (`key` maps a page's wording to a value's name). */
export function fillPlaceholders(command: string, values: ReadonlyMap<string, string>, key: (name: string) => string = (name) => name): string {
  return command.replace(/<([^>]+)>/g, (whole, name: string) => {
    const value = values.get(key(name));
    if (value === undefined) throw new Error(`"${whole}" in \`${command}\` is not filled by any earlier output`);
    return value;
  });
}

/**
 * `tongban login` as the pages say: the CLI prints the hub's page and a code; the person opens the
 * page in a browser, enters the code, confirms and signs in (played here); the CLI then stores the sign-in.
 */
export async function deviceLogin(args: string[], options: { cwd: string; env: Record<string, string> }, login: string, password: string): Promise<CliResult> {
  const cli = startTongban(args, options);
  const code = /Code:\s+(\S+)/.exec(await cli.line((l) => /Code:\s+\S+/.test(l)))![1]!;
  const page = (await cli.line((l) => /^\s+https?:\/\//.test(l))).trim();
  await approveDevice(page, code, login, password);
  const result = await cli.done;
  expect(result.stdout).toMatch(/^kind\s+(citizen|staff)/m);
  return result;
}
