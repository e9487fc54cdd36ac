import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TongbanError, toProblem } from '../errors/index.ts';
import { parseCookies } from '../identity/index.ts';

/**
 * Where `npm run build` puts the console (vite, console/ → dist/console/). The same from the
 * sources (src/server) and from the build (dist/server): two folders up is the package's root.
 */
export const DEFAULT_CONSOLE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'console');

export interface ConsoleOptions {
  readonly dir: string;
  readonly division: string;
  readonly name: string;
  /** The node's session cookie (tongban_session_<division>): whether the page may ask who is signed in. */
  readonly sessionCookie: string;
  /** The hub serves the console too, with no sign-in: its published governance dashboards only. */
  readonly role?: 'node' | 'hub';
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The web console at /console/: the built files with @fastify/static, index.html for every other
 * path under /console/ (the console's own routes). index.html is rendered per request: a fresh
 * CSP nonce (Ant Design writes its styles into <style> elements, which carry it), the node's name,
 * and whether a session cookie came with the request — so a page with nobody signed in does not
 * ask /v1/auth/me only to be refused (a 401 in the browser's console). A missing build is a 404
 * problem, never a failed start.
 */
export async function registerConsole(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const index = async (request: FastifyRequest, reply: FastifyReply) => {
    let template: string;
    try {
      template = await readFile(join(options.dir, 'index.html'), 'utf8');
    } catch {
      throw new TongbanError('NOT_FOUND', 'The web console is not built on this server (dist/console/index.html is missing): `npm run build` builds it.');
    }
    const nonce = randomBytes(16).toString('base64');
    const signedIn = parseCookies(request.headers.cookie).has(options.sessionCookie);
    const html = template
      .replaceAll('__TONGBAN_NONCE__', nonce)
      .replaceAll('__TONGBAN_DIVISION__', escapeHtml(options.division))
      .replaceAll('__TONGBAN_NODE_NAME__', escapeHtml(options.name))
      .replaceAll('__TONGBAN_SESSION__', signedIn ? '1' : '0')
      .replaceAll('__TONGBAN_ROLE__', options.role ?? 'node');
    return reply
      .header('content-security-policy', contentSecurityPolicy(nonce))
      .header('cache-control', 'no-store')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'no-referrer')
      .type('text/html; charset=utf-8')
      .send(html);
  };

  await app.register(
    async (scope) => {
      scope.addHook('onSend', async (_request, reply) => {
        reply.header('x-content-type-options', 'nosniff');
      });
      await scope.register(fastifyStatic, {
        root: options.dir,
        prefix: '/',
        index: false,
        // Vite names every asset by its content's hash: it never changes under its name.
        setHeaders: (res, path) => {
          res.setHeader('cache-control', path.includes(`${join(options.dir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
        },
        cacheControl: false,
        serveDotFiles: false,
      });
      scope.get('/', index);
      scope.get('/index.html', index);
      // A path of the console's own (a case, a view) is the page; a missing file (a dot in its
      // last segment: a script, a style, an image) stays a 404 rather than HTML in its place.
      scope.setNotFoundHandler(async (request, reply) => {
        const path = request.url.split('?')[0]!;
        if (request.method === 'GET' && !/\.[^/]*$/.test(path) && !path.startsWith('/console/assets/')) return index(request, reply);
        return reply.code(404).type('application/problem+json').send(toProblem('NOT_FOUND', `No file ${path} in the web console.`, { instance: path }));
      });
    },
    { prefix: '/console' },
  );
}

/** Only this origin: scripts from its files, styles from its files or carrying this page's nonce. */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}
