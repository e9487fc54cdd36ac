import type { CaseOut } from '../../api/client.ts';

/** What the applicant can do on their own case (release or refuse previewed evidence, withdraw): to come. */
export function CitizenCaseActions(_props: { view: CaseOut; reload: () => void }) {
  return null;
}
