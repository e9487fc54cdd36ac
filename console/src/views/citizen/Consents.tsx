import type { Me } from '../../api/client.ts';
import { NotFound } from '../NotFound.tsx';

/** A citizen's consents: give and revoke: to come. */
export function Consents(_props: { me: Me }) {
  return <NotFound />;
}
