/** The governance views' strings: keys prefixed 'governance.', Chinese first; `en: typeof zh` keeps English complete. */
export const zh = {};

export const en: typeof zh = {};
