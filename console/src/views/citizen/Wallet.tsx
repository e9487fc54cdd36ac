import type { Me } from '../../api/client.ts';
import { NotFound } from '../NotFound.tsx';

/** A citizen's certificate wallet: to come. */
export function Wallet(_props: { me: Me }) {
  return <NotFound />;
}
