import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema.d.ts';

/**
 * The node's API, typed from its OpenAPI document (schema.d.ts, `npm run console:api`). The
 * session is the node's HttpOnly cookie, sent by the browser: the console holds no token. Every
 * call that changes something carries x-tongban-csrf (src/identity/csrf.ts).
 */
const csrf: Middleware = {
  onRequest({ request }) {
    if (!['GET', 'HEAD', 'OPTIONS'].includes(request.method)) request.headers.set('x-tongban-csrf', '1');
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(csrf);

type Json<T> = T extends { content: { 'application/json': infer J } } ? J : never;
export type Me = Json<paths['/v1/auth/me']['get']['responses'][200]>;
export type CaseList = Json<paths['/v1/cases']['get']['responses'][200]>;
export type CaseOut = CaseList['cases'][number];
export type Case = CaseOut['case'];
export type TimeStatus = CaseOut['time'];
export type CaseState = Case['state'];

export type FederationReport = Json<paths['/v1/governance/federation']['get']['responses'][200]>;
export type NodeReport = Json<paths['/v1/governance/node']['get']['responses'][200]>;

export const CASE_STATES: readonly CaseState[] = ['applied', 'pending_materials', 'accepted', 'rejected', 'in_review', 'special_procedure', 'suspended', 'returned', 'decided', 'concluded', 'delivered', 'withdrawn'];

/** What the page was rendered with (src/server/console.ts): the node, a nonce, whether a session cookie came. */
export function pageMeta(name: 'csp-nonce' | 'tongban-division' | 'tongban-node-name' | 'tongban-session' | 'tongban-role'): string {
  return document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';
}
