import type { Me } from '../../api/client.ts';
import { NotFound } from '../NotFound.tsx';

/** A citizen applies for an item at this node: to come. */
export function Apply(_props: { me: Me }) {
  return <NotFound />;
}
