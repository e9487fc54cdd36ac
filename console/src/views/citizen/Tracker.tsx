import type { Me } from '../../api/client.ts';
import { NotFound } from '../NotFound.tsx';

/** A citizen's data tracker (who read their data): to come. */
export function Tracker(_props: { me: Me }) {
  return <NotFound />;
}
