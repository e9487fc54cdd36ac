import { Alert, Button, Form, Input, Result, Tag, Typography } from 'antd';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { paths } from '../../api/schema.d.ts';
import { localProblem } from '../../problem.ts';
import { navigate } from '../../router.ts';

type Json<T> = T extends { content: { 'application/json': infer J } } ? J : never;
export type Negotiation = Json<paths['/v1/operator/agreements/drafts/{id}']['get']['responses'][200]>;
export type NegotiationSummary = Json<paths['/v1/operator/agreements/drafts']['get']['responses'][200]>[number];
export type Terms = Negotiation['terms'];
export type AgreementAtNode = Json<paths['/v1/operator/agreements']['get']['responses'][200]>['agreements'][number];
export type Template = Json<paths['/v1/operator/agreements/templates']['get']['responses'][200]>[number];
export type Directory = Json<paths['/v1/operator/directory']['get']['responses'][200]>;
export type KeyStatus = Json<paths['/v1/operator/keys']['get']['responses'][200]>;
export type Service = Json<paths['/v1/operator/services']['get']['responses'][200]>[number];

/** What the node refused with (RFC 9457 problem details): shown as it is, code included. */
export interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail?: string;
  readonly code?: string;
}

export function problemOf(error: unknown, response: Response): Problem {
  const p = (typeof error === 'object' && error !== null ? error : {}) as { title?: unknown; detail?: unknown; code?: unknown };
  return { status: response.status, title: typeof p.title === 'string' ? p.title : response.statusText, ...(typeof p.detail === 'string' ? { detail: p.detail } : {}), ...(typeof p.code === 'string' ? { code: p.code } : {}) };
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/**
 * One read of the node's API, again every `pollMs` while the view is shown (a partner's step
 * arrives through the convener a moment later); the last answer stays on screen meanwhile.
 * Nothing is asked until `enabled`.
 */
export function useLoad<T>(read: () => Promise<Answer<T>>, deps: readonly unknown[], pollMs?: number, enabled = true) {
  const [data, setData] = useState<T | undefined>();
  const [problem, setProblem] = useState<Problem | undefined>();
  const [loads, setLoads] = useState(0);
  const readRef = useRef(read);
  readRef.current = read;
  const reload = useCallback(() => setLoads((n) => n + 1), []);
  useEffect(() => {
    let current = true;
    if (!enabled) return;
    let timer: number | undefined;
    const once = async () => {
      const { data: d, error, response } = await readRef.current();
      if (!current) return;
      if (d !== undefined) {
        setData(d);
        setProblem(undefined);
      } else {
        setProblem(problemOf(error, response));
        // A refusal (401, 403, 404) stays one: asking again would only repeat it.
        if (response.status >= 400 && response.status < 500 && timer !== undefined) window.clearInterval(timer);
      }
    };
    void once();
    if (pollMs) timer = window.setInterval(() => void once(), pollMs);
    return () => {
      current = false;
      if (timer !== undefined) window.clearInterval(timer);
    };
  }, [...deps, loads, pollMs, enabled]);
  // Another subject: nothing of the last one stays on the screen.
  useEffect(() => setData(undefined), deps);
  return { data, problem, reload };
}

/** A refusal or failure of the node, in full: a 403 is the answer to "may I", not an error page. */
export function ProblemView({ problem, onRetry }: { problem: Problem; onRetry?: () => void }) {
  const { t } = useTranslation();
  const subTitle = (
    <span data-testid="problem">
      {problem.detail ?? problem.title} {problem.code && <Typography.Text code>{problem.code}</Typography.Text>}
    </span>
  );
  if (problem.status === 403) return <Result status="403" title={t('admin.refused')} subTitle={subTitle} />;
  return <Alert type="error" showIcon title={problem.title} description={subTitle} action={onRetry && <Button onClick={onRetry}>{t('retry')}</Button>} />;
}

export function ProblemAlert({ problem }: { problem: Problem }) {
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      title={(problem.code && localProblem(problem.code)) || problem.title}
      description={
        <span data-testid="problem">
          {problem.detail} {problem.code && <Typography.Text code>{problem.code}</Typography.Text>}
        </span>
      }
    />
  );
}

const STATE_COLOURS: Record<string, string> = { active: 'green', suspended: 'orange', terminated: 'red', expired: 'default', draft: 'default', proposed: 'blue', countered: 'gold', accepted: 'cyan', signed: 'geekblue', registered: 'purple', abandoned: 'red' };

/** An agreement's or a negotiation's state as a coloured tag with its words. */
export function StateTag({ state }: { state: string }) {
  const { t } = useTranslation();
  return (
    <Tag color={STATE_COLOURS[state] ?? 'default'} data-state={state}>
      {t(`admin.state.${state}`)}
    </Tag>
  );
}

export function Link({ href, children }: { href: string; children: ReactNode }) {
  return (
    <a href={href} onClick={(e) => navigate(e, href)}>
      {children}
    </a>
  );
}

export const adminHref = (section: string, id?: string) => `/console/admin/${section}${id ? `/${encodeURIComponent(id)}` : ''}`;

/** A key id (an RFC 7638 thumbprint): long, so it breaks anywhere rather than widen a phone's page. */
export function Kid({ kid }: { kid: string }) {
  return (
    <Typography.Text code copyable={{ text: kid }} style={{ wordBreak: 'break-all' }}>
      {kid}
    </Typography.Text>
  );
}

/** One line of a diff as the node formats it (`path: a → b`, `path: + x`, `path: - x`), taken apart. */
export interface ChangeLine {
  readonly kind: 'added' | 'removed' | 'changed';
  readonly path: string;
  readonly before?: string;
  readonly after?: string;
}

export function parseChange(line: string): ChangeLine {
  const at = line.indexOf(': ');
  const path = at < 0 ? line : line.slice(0, at);
  const rest = at < 0 ? '' : line.slice(at + 2);
  if (rest.startsWith('+ ')) return { kind: 'added', path, after: rest.slice(2) };
  if (rest.startsWith('- ')) return { kind: 'removed', path, before: rest.slice(2) };
  const arrow = rest.indexOf(' → ');
  return arrow < 0 ? { kind: 'changed', path, after: rest } : { kind: 'changed', path, before: rest.slice(0, arrow), after: rest.slice(arrow + 3) };
}

/** The node passphrase a binding act asks of a person signed in through the hub. */
export function PassphraseField({ value, onChange }: { value: string; onChange: (value: string) => void }) {
  const { t } = useTranslation();
  return (
    <Form.Item label={t('admin.passphrase')} htmlFor="node-passphrase" extra={t('admin.passphraseHelp')} layout="vertical">
      <Input.Password id="node-passphrase" autoComplete="off" value={value} maxLength={200} onChange={(e) => onChange(e.target.value)} />
    </Form.Item>
  );
}
