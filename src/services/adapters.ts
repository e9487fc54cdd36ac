import { isAbsolute, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Pool } from 'pg';
import { TongbanError } from '../errors/index.ts';
import type { AdapterConfig } from './adapter-config.ts';

/** Reads one subject's record from a region's existing system. */
export interface DataAdapter {
  /** The record by data element, or null when the system has no such subject. */
  lookup(subject: string): Promise<Record<string, unknown> | null>;
  close(): Promise<void>;
}

export function createAdapter(config: AdapterConfig, baseDir: string): DataAdapter {
  return config.kind === 'sql' ? sqlAdapter(config, baseDir) : httpAdapter(config);
}

type SqlConfig = Extract<AdapterConfig, { kind: 'sql' }>;

function selectSql(config: SqlConfig, placeholder: string): { text: string; elements: string[] } {
  // Identifiers are checked by the config schema; quoting keeps reserved words safe.
  const elements = Object.keys(config.columns);
  const columns = elements.map((e) => `"${config.columns[e]}" AS "${e}"`).join(', ');
  return { text: `SELECT ${columns} FROM "${config.table}" WHERE "${config.key}" = ${placeholder} LIMIT 1`, elements };
}

function sqlAdapter(config: SqlConfig, baseDir: string): DataAdapter {
  if (/^postgres(ql)?:\/\//.test(config.url)) {
    // The driver is loaded at the first look-up: a node whose registries are on SQLite never carries it.
    let pool: Promise<Pool> | undefined;
    const connected = () =>
      (pool ??= import('pg').then(({ default: pg }) => {
        const created = new pg.Pool({ connectionString: config.url, max: 4, connectionTimeoutMillis: 5000 });
        created.on('error', () => {});
        return created;
      }));
    const { text } = selectSql(config, '$1');
    return {
      async lookup(subject) {
        try {
          const result = await (await connected()).query(text, [subject]);
          return (result.rows[0] as Record<string, unknown> | undefined) ?? null;
        } catch (error) {
          throw new TongbanError('SERVICE_UNAVAILABLE', 'The data source does not answer.', { cause: error });
        }
      },
      close: async () => {
        if (pool) await (await pool).end();
      },
    };
  }
  const path = config.url.replace(/^sqlite:(\/\/)?/, '');
  const database = new BetterSqlite3(isAbsolute(path) ? path : resolve(baseDir, path), { readonly: true, fileMustExist: true });
  const statement = database.prepare(selectSql(config, '?').text);
  return {
    async lookup(subject) {
      return (statement.get(subject) as Record<string, unknown> | undefined) ?? null;
    },
    async close() {
      database.close();
    },
  };
}

function httpAdapter(config: Extract<AdapterConfig, { kind: 'http' }>): DataAdapter {
  return {
    async lookup(subject) {
      const url = config.url.replace('{subject}', encodeURIComponent(subject));
      let response: Response;
      try {
        response = await fetch(url, { headers: { accept: 'application/json', ...config.headers }, signal: AbortSignal.timeout(config.timeoutMs) });
      } catch (error) {
        throw new TongbanError('SERVICE_UNAVAILABLE', 'The data source does not answer.', { cause: error });
      }
      if (response.status === 404) return null;
      if (!response.ok) throw new TongbanError('SERVICE_UNAVAILABLE', `The data source answered ${response.status}.`);
      let body: unknown;
      try {
        body = await response.json();
      } catch (error) {
        throw new TongbanError('SERVICE_UNAVAILABLE', 'The data source answered with something other than JSON.', { cause: error });
      }
      const record: Record<string, unknown> = {};
      for (const [element, path] of Object.entries(config.fields)) record[element] = pick(body, path);
      return record;
    },
    async close() {},
  };
}

function pick(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}
