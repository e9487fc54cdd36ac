import type { Me } from '../../api/client.ts';
import { NotFound } from '../NotFound.tsx';

/** The data administrator's views (services, agreements, templates, partners, enrolment): to come. */
export function Admin(_props: { me: Me; section: string; id?: string }) {
  return <NotFound />;
}
