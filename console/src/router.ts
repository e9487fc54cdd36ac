import { useEffect, useState, type MouseEvent } from 'react';

/**
 * The console's paths under /console/. One table: each area of the console (staff, citizen,
 * data administration, governance) owns its names; the shell (App.tsx) picks the view.
 */
export type Route =
  | { view: 'list' }
  | { view: 'case'; id: string }
  | { view: 'newCase' }
  | { view: 'queue' }
  | { view: 'apply' }
  | { view: 'consents' }
  | { view: 'wallet' }
  | { view: 'tracker' }
  | { view: 'admin'; section: string; id?: string }
  | { view: 'governance'; section: string }
  | { view: 'notFound' };

const seg = (s: string | undefined) => (s === undefined ? undefined : decodeURIComponent(s));

export function routeOf(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/console';
  if (path === '/console') return { view: 'list' };
  let m: RegExpExecArray | null;
  if (path === '/console/cases/new') return { view: 'newCase' };
  if ((m = /^\/console\/cases\/([^/]+)$/.exec(path))) return { view: 'case', id: seg(m[1])! };
  if (path === '/console/queue') return { view: 'queue' };
  if (path === '/console/apply') return { view: 'apply' };
  if (path === '/console/consents') return { view: 'consents' };
  if (path === '/console/wallet') return { view: 'wallet' };
  if (path === '/console/tracker') return { view: 'tracker' };
  if ((m = /^\/console\/admin(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(path))) return { view: 'admin', section: seg(m[1]) ?? 'agreements', ...(m[2] ? { id: seg(m[2])! } : {}) };
  if ((m = /^\/console\/governance(?:\/([^/]+))?$/.exec(path))) return { view: 'governance', section: seg(m[1]) ?? 'progress' };
  return { view: 'notFound' };
}

export const caseHref = (id: string) => `/console/cases/${encodeURIComponent(id)}`;

export function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(window.location.pathname));
  useEffect(() => {
    const onPop = () => setRoute(routeOf(window.location.pathname));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  return route;
}

/** Goes to a console path without reloading (after a form is sent, say). */
export function go(href: string): void {
  window.history.pushState(null, '', href);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** Follows a link inside the console without reloading (a real <a href>: keyboard, new tab and copy work as usual). */
export function navigate(event: MouseEvent<HTMLAnchorElement>, href: string): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  go(href);
}
