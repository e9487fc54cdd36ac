import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoFederation, startFederation, type FederationConfigInput, type RunningFederation } from '../../src/federation/index.ts';

/** A federation of real OS processes on a random port range, as operators run it. */
export async function processFederation(overrides: Partial<FederationConfigInput> = {}): Promise<{ f: RunningFederation; cleanup: () => Promise<void>; logs: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'tongban-rel-'));
  const logs: string[] = [];
  const portBase = 21_000 + Math.floor(Math.random() * 20_000);
  const f = await startFederation(
    demoFederation({
      dir,
      portBase,
      nodes: [
        { division: '522732', people: 300, businesses: 20 },
        { division: '330523', people: 300, businesses: 20 },
        { division: '320400', people: 300, businesses: 20 },
        { division: '310118', people: 300, businesses: 20 },
      ],
      directory: { refreshSeconds: 1, snapshotTtlSeconds: 600 },
      audit: { checkpointSeconds: 1 },
      ...overrides,
    }),
    { mode: 'process', log: (m) => logs.push(m) },
  );
  return {
    f,
    logs,
    cleanup: async () => {
      await f.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function json(url: string, init: RequestInit & { token?: string; body?: string } = {}): Promise<{ status: number; json: any; type: string }> {
  const { token, ...rest } = init;
  const response = await fetch(url, {
    ...rest,
    headers: { ...(rest.body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { unparsable: text };
  }
  return { status: response.status, json: parsed, type: response.headers.get('content-type') ?? '' };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
