import { Button, Space, Typography } from 'antd';
import type { MouseEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Me } from '../../api/client.ts';
import { navigate } from '../../router.ts';
import { NotFound } from '../NotFound.tsx';
import { AgreementDetail, Agreements } from './Agreements.tsx';
import { Enrolment } from './Enrolment.tsx';
import { NegotiationView } from './Negotiation.tsx';
import { Partners } from './Partners.tsx';
import { Services } from './Services.tsx';
import { adminHref } from './shared.tsx';
import { Templates } from './Templates.tsx';

const SECTIONS = ['services', 'agreements', 'templates', 'partners', 'enrolment'] as const;

/**
 * The data administrator's views at /console/admin/<section>/<id>: the data services this node
 * provides, its agreements (one in detail; a negotiation at /console/admin/negotiations/<id>), the
 * templates a draft starts from, the partners in the directory, and this node's own enrolment.
 * Each view asks the node, which refuses anyone but its data administrators and operators (the
 * refusal is shown as the node gave it).
 */
export function Admin({ section, id }: { me: Me; section: string; id?: string }) {
  const { t } = useTranslation();
  const current = section === 'negotiations' ? 'agreements' : section;
  let body;
  if (section === 'services') body = <Services />;
  else if (section === 'agreements') body = id ? <AgreementDetail id={id} /> : <Agreements />;
  else if (section === 'negotiations' && id) body = <NegotiationView id={id} />;
  else if (section === 'templates') body = <Templates />;
  else if (section === 'partners') body = <Partners />;
  else if (section === 'enrolment') body = <Enrolment />;
  else return <NotFound />;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t('admin.title')}
      </Typography.Title>
      <nav aria-label={t('admin.sections')}>
        <Space wrap>
          {SECTIONS.map((s) => (
            <Button key={s} href={adminHref(s)} type={s === current ? 'primary' : 'default'} aria-current={s === current ? 'page' : undefined} onClick={(e) => navigate(e as MouseEvent<HTMLAnchorElement>, adminHref(s))}>
              {t(`admin.section.${s}`)}
            </Button>
          ))}
        </Space>
      </nav>
      {body}
    </Space>
  );
}
