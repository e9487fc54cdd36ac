/** The staff views' strings: keys prefixed 'staff.', Chinese first; `en: typeof zh` keeps English complete. */
export const zh = {};

export const en: typeof zh = {};
