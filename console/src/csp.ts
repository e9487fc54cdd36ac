import { pageMeta } from './api/client.ts';

/**
 * The page's CSP allows styles from the node's files and <style> elements carrying this page's
 * nonce. Ant Design's own styles carry it (ConfigProvider `csp`), but some of its parts write a
 * <style> without asking (rc-table measuring the scrollbar, rc-portal locking the page's scroll
 * under a modal): every <style> this page's scripts create gets the nonce. Only the node's own
 * scripts run here (script-src 'self'), and markup injected as HTML still gets none.
 */
const nonce = pageMeta('csp-nonce');
const createElement = document.createElement.bind(document);
document.createElement = ((tagName: string, options?: ElementCreationOptions) => {
  const element = createElement(tagName, options);
  if (element instanceof HTMLStyleElement) element.nonce = nonce;
  return element;
}) as typeof document.createElement;
