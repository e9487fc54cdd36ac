import type { Me } from '../../api/client.ts';
import { NotFound } from '../NotFound.tsx';

/** An approver's queue of cases to decide, with the evidence fetched for each: to come. */
export function Queue(_props: { me: Me }) {
  return <NotFound />;
}
