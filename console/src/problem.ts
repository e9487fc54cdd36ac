import i18next from './i18n.ts';

/** A problem+json answer's code, title and detail, whatever the call gave. */
export function problemParts(error: unknown): { code: string; title: string; detail: string } {
  const e = typeof error === 'object' && error !== null ? (error as { code?: unknown; title?: unknown; detail?: unknown }) : {};
  return { code: typeof e.code === 'string' ? e.code : '', title: typeof e.title === 'string' ? e.title : '', detail: typeof e.detail === 'string' ? e.detail : '' };
}

/** The refusal in the reader's language when the console knows its code (locales/problems.ts), else undefined. */
export function localProblem(code: string): string | undefined {
  const key = `problem.${code}`;
  return code && i18next.exists(key) ? i18next.t(key) : undefined;
}

/**
 * One line for a refusal: the console's own words for its code, then the node's detail (the
 * specifics, in English) — or the detail alone, or `fallback`.
 */
export function problemText(error: unknown, fallback: string): string {
  const { code, title, detail } = problemParts(error);
  const local = localProblem(code);
  const specific = detail || title;
  if (local && specific) return i18next.language === 'en' ? `${local} (${specific})` : `${local}（${specific}）`;
  return local ?? (specific || fallback);
}
