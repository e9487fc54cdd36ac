import { Button, ConfigProvider, Layout, Result, Space, Spin, Tag, Typography } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { api, pageMeta, type Me } from './api/client.ts';
import { chooseLanguage, type Language } from './i18n.ts';
import { navFor } from './nav.ts';
import { navigate, useRoute, type Route } from './router.ts';
import { Admin } from './views/admin/Admin.tsx';
import { CaseDetail } from './views/CaseDetail.tsx';
import { CaseList } from './views/CaseList.tsx';
import { Apply } from './views/citizen/Apply.tsx';
import { Consents } from './views/citizen/Consents.tsx';
import { Tracker } from './views/citizen/Tracker.tsx';
import { Wallet } from './views/citizen/Wallet.tsx';
import { Governance } from './views/governance/Governance.tsx';
import { NotFound } from './views/NotFound.tsx';
import { NewCase } from './views/staff/NewCase.tsx';
import { Queue } from './views/staff/Queue.tsx';

const CASE_ROLES = new Set(['clerk', 'approver', 'supervisor']);
const division = pageMeta('tongban-division');
const nodeName = pageMeta('tongban-node-name');
const nonce = pageMeta('csp-nonce');
/** The hub's console: no sign-in, only the governance dashboards it publishes. */
const hub = pageMeta('tongban-role') === 'hub';

/** Whether a menu entry is where the page is: its own path, or (admin, governance) any section under it. */
function current(href: string, pathname: string): boolean {
  const path = pathname.replace(/\/+$/, '') || '/console';
  const own = href.replace(/\/+$/, '');
  if (path === own) return true;
  const area = /^\/console\/(admin|governance)\//.exec(href);
  return area !== null && path.startsWith(`/console/${area[1]}`);
}

/**
 * The menu: plain links in a list that wraps on a narrow screen (a horizontal menu would fold
 * entries out of sight behind "…"); the page's own entry is marked for screen readers too.
 */
function NavBar({ label, entries }: { label: string; entries: ReadonlyArray<{ href: string; label: string }> }) {
  return (
    <nav aria-label={label} className="console-nav">
      <ul>
        {entries.map((entry) => {
          const here = current(entry.href, window.location.pathname);
          return (
            <li key={entry.href}>
              <a href={entry.href} aria-current={here ? 'page' : undefined} onClick={(e) => navigate(e, entry.href)}>
                {entry.label}
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

/** The view a route names, for this person (each view asks the node, which refuses what they may not see). */
function viewOf(route: Route, me: Me): ReactNode {
  const citizen = me.kind === 'citizen';
  switch (route.view) {
    case 'list':
      return <CaseList citizen={citizen} />;
    case 'case':
      return <CaseDetail id={route.id} citizen={citizen} />;
    case 'newCase':
      return <NewCase me={me} />;
    case 'queue':
      return <Queue me={me} />;
    case 'apply':
      return <Apply me={me} />;
    case 'consents':
      return <Consents me={me} />;
    case 'wallet':
      return <Wallet me={me} />;
    case 'tracker':
      return <Tracker me={me} />;
    case 'admin':
      return <Admin me={me} section={route.section} {...(route.id ? { id: route.id } : {})} />;
    case 'governance':
      return <Governance me={me} section={route.section} />;
    case 'notFound':
      return <NotFound />;
  }
}

type Who = { state: 'loading' } | { state: 'anonymous' } | { state: 'failed' } | { state: 'signed-in'; me: Me };

/** The shell: who is signed in at this node, the language, and the view their role has. */
export function App() {
  const { t, i18n } = useTranslation();
  const language: Language = i18n.language === 'en' ? 'en' : 'zh';
  const [who, setWho] = useState<Who>(() => (pageMeta('tongban-session') === '1' ? { state: 'loading' } : { state: 'anonymous' }));
  const route = useRoute();

  const load = useCallback(async () => {
    setWho({ state: 'loading' });
    const { data, response } = await api.GET('/v1/auth/me');
    setWho(data ? { state: 'signed-in', me: data } : response.status === 401 ? { state: 'anonymous' } : { state: 'failed' });
  }, []);
  useEffect(() => {
    // Without a session cookie nobody is signed in: no call only to be refused.
    if (pageMeta('tongban-session') === '1') void load();
  }, [load]);

  const signOut = async () => {
    await api.POST('/v1/auth/logout');
    setWho({ state: 'anonymous' });
  };
  const signInHref = `/v1/auth/login?return=${encodeURIComponent(window.location.pathname)}`;

  let body;
  if (hub) body = <Governance hub section={route.view === 'governance' ? route.section : route.view === 'list' ? 'progress' : ''} />;
  else if (who.state === 'loading') body = <Spin aria-label={t('loading')} />;
  else if (who.state === 'failed') body = <Result status="error" title={t('loadFailed')} extra={<Button onClick={() => void load()}>{t('retry')}</Button>} />;
  else if (who.state === 'anonymous')
    body = (
      <Result
        status="info"
        title={t('signIn')}
        subTitle={t('signInPrompt')}
        extra={
          <Button type="primary" href={signInHref}>
            {t('signIn')}
          </Button>
        }
      />
    );
  else {
    const { me } = who;
    const citizen = me.kind === 'citizen';
    if (!me.actsHere) body = <Result status="403" title={t('staffOfAnotherNode', { node: me.node ?? '?' })} subTitle={t('staffOfAnotherNodeDetail', { here: division })} />;
    // A data administrator without a case role starts at their own views.
    else if (!citizen && route.view === 'list' && !me.roles.some((r) => CASE_ROLES.has(r)) && me.roles.some((r) => r === 'dataAdmin' || r === 'operator')) body = viewOf({ view: 'admin', section: 'agreements' }, me);
    else if (!citizen && route.view === 'list' && !me.roles.some((r) => CASE_ROLES.has(r)))
      body = <Result status="info" title={t('noCaseRole', { roles: me.roles.map((r) => t(`role.${r}`)).join(', ') })} subTitle={t('noCaseRoleDetail')} />;
    else body = viewOf(route, me);
  }

  return (
    <ConfigProvider locale={language === 'en' ? enUS : zhCN} csp={{ nonce }} button={{ autoInsertSpace: false }}>
      <Layout style={{ minHeight: '100vh' }}>
        <Layout.Header style={{ display: 'flex', flexWrap: 'wrap', alignItems: 'center', gap: 12, height: 'auto', lineHeight: 1.5, padding: '12px 16px' }}>
          <Typography.Text strong style={{ color: '#fff', fontSize: 18 }}>
            {t('appTitle')}
          </Typography.Text>
          <Typography.Text style={{ color: '#fff' }} data-testid="node">
            {t('node')} {nodeName} ({division})
          </Typography.Text>
          <Space wrap style={{ marginLeft: 'auto' }}>
            {who.state === 'signed-in' && (
              <Typography.Text style={{ color: '#fff' }} data-testid="person">
                {who.me.name} <Tag>{who.me.kind === 'citizen' ? t('kind.citizen') : who.me.roles.map((r) => t(`role.${r}`)).join(', ')}</Tag>
              </Typography.Text>
            )}
            <Button size="small" lang={language === 'en' ? 'zh-CN' : 'en'} aria-label={t('switchLanguageLabel')} onClick={() => chooseLanguage(language === 'en' ? 'zh' : 'en')}>
              {t('switchLanguage')}
            </Button>
            {who.state === 'signed-in' && (
              <Button size="small" onClick={() => void signOut()}>
                {t('signOut')}
              </Button>
            )}
          </Space>
        </Layout.Header>
        {hub && <NavBar label={t('menu')} entries={[{ href: '/console/governance/progress', label: t('governance.menu') }]} />}
        {!hub && who.state === 'signed-in' && navFor(who.me).length > 0 && <NavBar label={t('menu')} entries={navFor(who.me).map((entry) => ({ href: entry.href, label: t(entry.label) }))} />}
        <Layout.Content style={{ padding: 16, maxWidth: 1200, width: '100%', margin: '0 auto' }}>
          <main>{body}</main>
        </Layout.Content>
      </Layout>
    </ConfigProvider>
  );
}
