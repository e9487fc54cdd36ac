import { problemText } from '../../problem.ts';
import type { paths } from '../../api/schema.d.ts';

type Json<T> = T extends { content: { 'application/json': infer J } } ? J : never;
export type CatalogItem = Json<paths['/v1/catalog/items']['get']['responses'][200]>['items'][number];
export type CompetentNode = Json<paths['/v1/cases/competent-nodes']['get']['responses'][200]>['nodes'][number];
export type ThreadMessage = Json<paths['/v1/cases/{id}/thread']['get']['responses'][200]>['messages'][number];

/** What a refusal says: the console's words for its code and the node's `detail` (RFC 9457), else its title, else `fallback`. */
export const problemDetail = problemText;

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

/**
 * GB 11643: an 18-character resident ID number ends with the ISO 7064 MOD 11-2 check character of
 * its first 17 digits. The counter's first check only: the node checks the rest (a real birth
 * date, a known region) and refuses with its problem.
 */
export function idNumberProblem(value: string): 'format' | 'check' | undefined {
  const id = value.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(id)) return 'format';
  const sum = WEIGHTS.reduce((total, weight, i) => total + weight * Number(id[i]), 0);
  return CHECK[sum % 11] === id[17] ? undefined : 'check';
}
