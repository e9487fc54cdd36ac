import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSqliteFile } from '../../test/support/sqlite.ts';
import BetterSqlite3 from 'better-sqlite3';
import { ServiceConfig } from './adapter-config.ts';
import { createAdapter } from './adapters.ts';
import { ServiceRegistry } from './service-registry.ts';

// A region's existing HTTP backend, on a real loopback socket.
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    const id = decodeURIComponent(req.url!.split('/').pop()!);
    if (req.url!.startsWith('/slow/')) return void setTimeout(() => res.end('{}'), 2000);
    if (id === '11010519491231002X') {
      res.setHeader('content-type', 'application/json');
      return void res.end(JSON.stringify({ person: { xm: '张三', sfzh: id, hj: { dm: '110105' } } }));
    }
    if (id === 'BROKEN') return void res.writeHead(500).end('oops');
    if (id === 'HTML') return void res.end('<html>');
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  base = `http://127.0.0.1:${address.port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('HTTP adapter', () => {
  const adapter = () =>
    createAdapter({ kind: 'http', url: `${base}/persons/{subject}`, fields: { name: 'person.xm', idNumber: 'person.sfzh', householdDivision: 'person.hj.dm' }, headers: {}, timeoutMs: 500 }, '.');

  it('maps a JSON answer onto data elements', async () => {
    expect(await adapter().lookup('11010519491231002X')).toEqual({ name: '张三', idNumber: '11010519491231002X', householdDivision: '110105' });
  });

  it('reads 404 as no such subject, and a 500, non-JSON or timeout as SERVICE_UNAVAILABLE', async () => {
    expect(await adapter().lookup('110105194912310021')).toBeNull();
    await expect(adapter().lookup('BROKEN')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    await expect(adapter().lookup('HTML')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    const slow = createAdapter({ kind: 'http', url: `${base}/slow/{subject}`, fields: {}, headers: {}, timeoutMs: 200 }, '.');
    await expect(slow.lookup('x')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('escapes the subject in the URL', async () => {
    expect(await adapter().lookup('../../etc/passwd')).toBeNull();
  });
});

describe('service registry over an SQL view', () => {
  it('delivers only the requested fields, validated against the data dictionary', async () => {
    const file = freshSqliteFile();
    const db = new BetterSqlite3(file.url);
    db.exec(`CREATE TABLE people (sfzh TEXT, xm TEXT, hjd TEXT, note TEXT);
      INSERT INTO people VALUES ('11010519491231002X', '张三', '110105', 'internal'), ('110105194912310021', '李四', '999999', 'bad');
      CREATE VIEW household_v AS SELECT sfzh, xm, hjd FROM people;`);
    db.close();
    const registry = new ServiceRegistry(
      [{ id: 'household.residence-proof', adapter: { kind: 'sql', url: file.url, table: 'household_v', key: 'sfzh', columns: { idNumber: 'sfzh', name: 'xm', householdDivision: 'hjd' } } }],
      file.dir,
    );
    try {
      expect(await registry.fetch('household.residence-proof', '11010519491231002X', ['name'])).toEqual({ name: '张三' });
      expect(await registry.fetch('household.residence-proof', '11010519491231002X', ['name', 'householdDivision'])).toEqual({ name: '张三', householdDivision: '110105' });
      expect(await registry.fetch('household.residence-proof', '52273219900101001X', ['name'])).toBeNull();
      // A row with an invalid division code is not passed on as if it were good.
      // The field names (never the values) go with the refusal: the provider records a data-quality finding (src/governance).
      await expect(registry.fetch('household.residence-proof', '110105194912310021', ['householdDivision'])).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', errors: [{ path: 'householdDivision', message: 'fails the data dictionary' }] });
      await expect(registry.fetch('marriage.status', '11010519491231002X', ['name'])).rejects.toMatchObject({ code: 'SERVICE_NOT_PUBLISHED' });
    } finally {
      await registry.close();
      await file.drop();
    }
  });

  it('refuses a mapping the service cannot deliver, and unsafe identifiers', () => {
    expect(
      () => new ServiceRegistry([{ id: 'household.residence-proof', adapter: { kind: 'sql', url: ':memory:', table: 't', key: 'k', columns: { creditCode: 'c' } } }], '.'),
    ).toThrow(/cannot deliver creditCode/);
    const unsafe = ServiceConfig.safeParse({ id: 'household.residence-proof', adapter: { kind: 'sql', url: 'x', table: 'people; DROP TABLE people', key: 'k', columns: {} } });
    expect(unsafe.success).toBe(false);
  });
});
