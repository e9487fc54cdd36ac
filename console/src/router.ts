import { useEffect, useState, type MouseEvent } from 'react';

/** The console's paths under /console/: the list, and /console/cases/<id>. */
export type Route = { view: 'list' } | { view: 'case'; id: string };

export function routeOf(pathname: string): Route {
  const match = /^\/console\/cases\/([^/]+)\/?$/.exec(pathname);
  return match ? { view: 'case', id: decodeURIComponent(match[1]!) } : { view: 'list' };
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

/** Follows a link inside the console without reloading (a real <a href>: keyboard, new tab and copy work as usual). */
export function navigate(event: MouseEvent<HTMLAnchorElement>, href: string): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  window.history.pushState(null, '', href);
  window.dispatchEvent(new PopStateEvent('popstate'));
}
