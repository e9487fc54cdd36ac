import { Button, Card, Form, Input, InputNumber, Select, Space, Spin, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, pageMeta } from '../../api/client.ts';
import { go } from '../../router.ts';
import { adminHref, ProblemAlert, ProblemView, problemOf, useLoad, type Problem, type Template } from './shared.tsx';

const self = pageMeta('tongban-division');

/** The templates a draft starts from, and a draft from one of them with partners from the directory. */
export function Templates() {
  const { t } = useTranslation();
  const templates = useLoad(() => api.GET('/v1/operator/agreements/templates'), []);
  const directory = useLoad(() => api.GET('/v1/operator/directory'), []);
  if (templates.problem) return <ProblemView problem={templates.problem} onRetry={templates.reload} />;
  if (!templates.data) return <Spin aria-label={t('loading')} />;
  const partners = (directory.data?.nodes ?? []).filter((n) => n.role === 'node' && n.division !== self);
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Card size="small" title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('admin.templates.title')}</Typography.Title>}>
        <Table<Template>
          size="small"
          rowKey="id"
          dataSource={templates.data}
          pagination={false}
          scroll={{ x: 'max-content' }}
          columns={[
            { title: t('admin.template'), key: 'id', render: (_, x) => <Typography.Text code>{x.id}</Typography.Text> },
            { title: t('admin.agreementTitle'), key: 'title', render: (_, x) => x.title },
            { title: t('admin.templates.extends'), key: 'extends', render: (_, x) => x.extends ?? '—' },
            { title: t('admin.items'), key: 'items', render: (_, x) => x.items.map((i) => <Tag key={i}>{i}</Tag>) },
            { title: t('admin.templates.description'), key: 'description', render: (_, x) => <div style={{ maxWidth: 420, whiteSpace: 'normal' }}>{x.description}</div> },
          ]}
        />
      </Card>
      <DraftForm templates={templates.data} partners={partners.map((p) => ({ division: p.division, name: p.name }))} />
    </Space>
  );
}

function DraftForm({ templates, partners }: { templates: Template[]; partners: Array<{ division: string; name: string }> }) {
  const { t } = useTranslation();
  const [template, setTemplate] = useState(templates[0]?.id ?? '');
  const [partner, setPartner] = useState<string[]>([]);
  const [months, setMonths] = useState(24);
  const [id, setId] = useState('');
  const [contact, setContact] = useState('');
  const [problem, setProblem] = useState<Problem | undefined>();
  const [busy, setBusy] = useState(false);
  const suggested = partner.length > 0 ? `AGR-${self}-${partner.join('-')}-${new Date().toISOString().slice(2, 10).replace(/-/g, '')}` : '';

  const submit = async () => {
    setBusy(true);
    setProblem(undefined);
    const now = new Date();
    const until = new Date(now);
    until.setMonth(until.getMonth() + months);
    const params = {
      id: id.trim() || suggested,
      convener: self,
      partners: partner,
      // Who each party's security officer is: ours from the form, the partners' filled in by them when they counter.
      ...(contact.trim() ? { contacts: [{ party: self, name: contact.trim() }] } : {}),
      validFrom: now.toISOString(),
      validUntil: until.toISOString(),
    };
    const { data, error, response } = await api.POST('/v1/operator/agreements/drafts', { body: { template, params } });
    setBusy(false);
    if (data) go(adminHref('negotiations', data.id));
    else setProblem(problemOf(error, response));
  };

  return (
    <Card size="small" title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('admin.templates.draft')}</Typography.Title>}>
      <Form layout="vertical" onFinish={() => void submit()} style={{ maxWidth: 560 }}>
        <Form.Item label={t('admin.template')} htmlFor="draft-template" required>
          <Select id="draft-template" virtual={false} value={template} onChange={setTemplate} options={templates.map((x) => ({ value: x.id, label: `${x.title} (${x.id})` }))} />
        </Form.Item>
        <Form.Item label={t('admin.templates.partners')} htmlFor="draft-partners" required>
          <Select<string[]> id="draft-partners" mode="multiple" virtual={false} value={partner} onChange={setPartner} options={partners.map((p) => ({ value: p.division, label: `${p.name} (${p.division})` }))} />
        </Form.Item>
        <Form.Item label={t('admin.templates.id')} htmlFor="draft-id" extra={suggested && t('admin.templates.idDefault', { id: suggested })}>
          <Input id="draft-id" value={id} placeholder={suggested} maxLength={80} onChange={(e) => setId(e.target.value)} />
        </Form.Item>
        <Form.Item label={t('admin.templates.months')} htmlFor="draft-months">
          <InputNumber id="draft-months" min={1} max={120} value={months} onChange={(v) => setMonths(Number(v ?? 24))} />
        </Form.Item>
        <Form.Item label={t('admin.templates.contact')} htmlFor="draft-contact" extra={t('admin.templates.contactHelp')}>
          <Input id="draft-contact" value={contact} maxLength={100} onChange={(e) => setContact(e.target.value)} />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={busy} disabled={!template || partner.length === 0}>
          {t('admin.templates.start')}
        </Button>
      </Form>
      {problem && <ProblemAlert problem={problem} />}
    </Card>
  );
}
