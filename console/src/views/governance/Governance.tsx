import type { Me } from '../../api/client.ts';
import { NotFound } from '../NotFound.tsx';

/** The governance dashboards: to come. */
export function Governance(_props: { me: Me; section: string }) {
  return <NotFound />;
}
