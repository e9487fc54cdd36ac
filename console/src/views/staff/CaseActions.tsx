import type { CaseOut } from '../../api/client.ts';

/** What staff can do on a case they see (accept, check materials, ship, consult, decide): to come. */
export function StaffCaseActions(_props: { view: CaseOut; reload: () => void }) {
  return null;
}
