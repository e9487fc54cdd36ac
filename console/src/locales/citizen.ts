/** The citizen views' strings: keys prefixed 'citizen.', Chinese first; `en: typeof zh` keeps English complete. */
export const zh = {};

export const en: typeof zh = {};
