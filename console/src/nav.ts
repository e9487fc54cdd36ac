import type { Me } from './api/client.ts';

/** One entry of the console's menu: a path under /console/ and its label's i18n key. */
export interface NavEntry {
  readonly href: string;
  readonly label: string;
}

const has = (me: Me, ...roles: string[]) => me.kind !== 'citizen' && me.roles.some((r) => roles.includes(r));

/**
 * What each person's menu offers at this node, by who they are. The node refuses what a role may
 * not do whatever the menu shows: this only spares people links that would be refused.
 */
export function navFor(me: Me): NavEntry[] {
  if (!me.actsHere) return [];
  if (me.kind === 'citizen')
    return [
      { href: '/console/', label: 'myCases' },
      { href: '/console/apply', label: 'citizen.nav.apply' },
      { href: '/console/consents', label: 'citizen.nav.consents' },
      { href: '/console/wallet', label: 'citizen.nav.wallet' },
      { href: '/console/tracker', label: 'citizen.nav.tracker' },
    ];
  const entries: NavEntry[] = [];
  if (has(me, 'clerk', 'approver', 'supervisor')) entries.push({ href: '/console/', label: 'cases' });
  if (has(me, 'clerk')) entries.push({ href: '/console/cases/new', label: 'staff.newCase' });
  if (has(me, 'approver', 'supervisor')) entries.push({ href: '/console/queue', label: 'staff.queue' });
  if (has(me, 'dataAdmin', 'operator')) entries.push({ href: '/console/admin/agreements', label: 'admin.menu' });
  // Governance figures: supervisors and data administrators (the node refuses everyone else).
  if (has(me, 'supervisor', 'dataAdmin')) entries.push({ href: '/console/governance/progress', label: 'governance.menu' });
  return entries;
}
