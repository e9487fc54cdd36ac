import { z } from 'zod';
import nationalList from '../../data/catalog/national-items.json' with { type: 'json' };
import { TongbanError, validationError } from '../errors/index.ts';
import { Item, LocalItemInput } from './item.ts';

const NationalList = z.object({ list: z.string(), note: z.string(), items: z.array(Item) });

/** The shipped national list, validated once at load: a bad data file fails loudly at start. */
export const nationalItems: readonly Item[] = Object.freeze(NationalList.parse(nationalList).items.map((i) => Object.freeze(i)));
export const nationalListInfo = { list: nationalList.list, note: nationalList.note } as const;

/**
 * The item catalogue a node works with: the national list plus its region's local items.
 * Pure: persistence of local items is the store's job.
 */
export class Catalog {
  readonly #items = new Map<string, Item>();

  constructor(localItems: readonly Item[] = [], national: readonly Item[] = nationalItems) {
    for (const item of national) this.#items.set(item.code, item);
    for (const item of localItems) this.#items.set(item.code, item);
  }

  get(code: string): Item | undefined {
    return this.#items.get(code);
  }

  require(code: string): Item {
    const item = this.#items.get(code);
    if (!item) throw new TongbanError('ITEM_NOT_FOUND', `There is no item ${code} in the catalogue.`);
    return item;
  }

  list(filter: { scope?: Item['scope']; audience?: Item['audience']; mode?: Item['modes'][number] } = {}): Item[] {
    return [...this.#items.values()].filter(
      (i) =>
        (filter.scope === undefined || i.scope === filter.scope) &&
        (filter.audience === undefined || i.audience === filter.audience) &&
        (filter.mode === undefined || i.modes.includes(filter.mode)),
    );
  }
}

/** Turns a region's input into a validated local item, or a VALIDATION_FAILED error. */
export function makeLocalItem(ownerDivision: string, input: unknown): Item {
  const parsed = LocalItemInput.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error);
  const { localNumber, ...rest } = parsed.data;
  const candidate = {
    ...rest,
    code: `L${ownerDivision}-${localNumber}`,
    scope: 'local',
    ownerDivision,
    deadline: null,
    modeFixed: false,
    confirmed: 'yes',
    defaults: false,
    version: 1,
  };
  const item = Item.safeParse(candidate);
  if (!item.success) throw validationError(item.error);
  return item.data;
}
