/** The admin views' strings: keys prefixed 'admin.', Chinese first; `en: typeof zh` keeps English complete. */
export const zh = {};

export const en: typeof zh = {};
