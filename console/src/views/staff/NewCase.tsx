import type { Me } from '../../api/client.ts';
import { NotFound } from '../NotFound.tsx';

/** A clerk accepts an application for another region (online or by proxy): to come. */
export function NewCase(_props: { me: Me }) {
  return <NotFound />;
}
