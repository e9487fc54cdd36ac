export { Catalog, makeLocalItem, nationalItems, nationalListInfo } from './catalog.ts';
export { Item, LocalItemInput, HandlingMode, TimeLimit, handlingModes } from './item.ts';
