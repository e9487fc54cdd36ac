import { Alert, Button, Card, Form, Select, Space, Spin, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type Me } from '../../api/client.ts';
import type { paths } from '../../api/schema.d.ts';
import { HubProblem } from './HubProblem.tsx';

type Consent = paths['/v1/me/consents']['get']['responses'][200]['content']['application/json']['consents'][number];
type Option = paths['/v1/me/options']['get']['responses'][200]['content']['application/json']['consentGrants'][number];
/** How long a consent lasts, in days (the hub caps it: config exchange.consentMaxDays). */
const DURATIONS = [1, 7, 30, 90] as const;
const STATUS_COLOURS = { active: 'green', used: 'blue', revoked: 'red', expired: 'default' } as const;

/**
 * The citizen's consents at the hub, through this node (GET/POST /v1/me/consents, revoke): give one
 * on the terms of a grant that needs it (the options this node's directory holds), revoke any.
 */
export function Consents(_props: { me: Me }) {
  const { t } = useTranslation();
  const [consents, setConsents] = useState<Consent[] | undefined>();
  const [problem, setProblem] = useState<unknown>();
  const [options, setOptions] = useState<Option[]>([]);
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const [choice, setChoice] = useState<number | undefined>();
  const [purpose, setPurpose] = useState<string | undefined>();
  const [fields, setFields] = useState<string[]>([]);
  const [days, setDays] = useState<number>(30);
  const [use, setUse] = useState<'single' | 'until-expiry'>('single');
  const [busy, setBusy] = useState<string | undefined>();
  const [done, setDone] = useState<string | undefined>();

  const load = useCallback(async () => {
    const { data, error } = await api.GET('/v1/me/consents', { params: { query: { limit: 200 } } });
    setConsents(data?.consents ?? []);
    setProblem(data ? undefined : error);
  }, []);
  useEffect(() => {
    void load();
    void api.GET('/v1/me/options').then(({ data }) => {
      setOptions(data?.consentGrants ?? []);
      setNames(new Map((data?.nodes ?? []).map((n) => [n.division, n.name])));
    });
  }, [load]);
  const option = choice === undefined ? undefined : options[choice];

  const give = async () => {
    if (!option || !purpose || fields.length === 0) return;
    setBusy('give');
    setDone(undefined);
    const { data, error } = await api.POST('/v1/me/consents', {
      body: { requester: option.requester, provider: option.provider, agreementId: option.agreementId, itemCode: option.itemCode, service: option.service, purpose, fields, expiresAt: new Date(Date.now() + days * 86_400_000).toISOString(), use },
    });
    setBusy(undefined);
    if (data) {
      setDone(t('citizen.consents.granted'));
      setChoice(undefined);
      setFields([]);
      setPurpose(undefined);
      void load();
    } else setProblem(error);
  };
  const revoke = async (id: string) => {
    setBusy(id);
    setDone(undefined);
    const { data, error } = await api.POST('/v1/me/consents/{id}/revoke', { params: { path: { id } } });
    setBusy(undefined);
    if (data) {
      setDone(t('citizen.consents.revoked'));
      void load();
    } else setProblem(error);
  };

  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t('citizen.consents.title')}
      </Typography.Title>
      <Typography.Paragraph style={{ margin: 0 }}>{t('citizen.consents.intro')}</Typography.Paragraph>
      {problem !== undefined && <HubProblem error={problem} />}
      {done && <Alert type="success" showIcon title={done} />}
      <Card size="small" title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('citizen.consents.give')}</Typography.Title>}>
        {options.length === 0 ? (
          <Typography.Text>{t('citizen.consents.noOptions')}</Typography.Text>
        ) : (
          <Form layout="vertical" onFinish={() => void give()} style={{ maxWidth: 640 }}>
            <Form.Item label={t('citizen.consents.grant')} htmlFor="consent-grant" required>
              <Select
                id="consent-grant"
                virtual={false}
                value={choice}
                onChange={(i: number) => {
                  setChoice(i);
                  setFields([...options[i]!.fields]);
                  setPurpose(options[i]!.purposes[0]);
                }}
                options={options.map((o, i) => ({ value: i, label: `${o.providerName} → ${o.requesterName} · ${o.service} (${o.itemCode})` }))}
              />
            </Form.Item>
            {option && (
              <>
                <Form.Item label={t('citizen.consents.purpose')} htmlFor="consent-purpose" required>
                  <Select id="consent-purpose" virtual={false} value={purpose} onChange={setPurpose} options={option.purposes.map((p) => ({ value: p, label: p }))} />
                </Form.Item>
                <Form.Item label={t('citizen.consents.fields')} htmlFor="consent-fields" required>
                  <Select id="consent-fields" virtual={false} mode="multiple" value={fields} onChange={setFields} options={option.fields.map((f) => ({ value: f, label: f }))} />
                </Form.Item>
                <Form.Item label={t('citizen.consents.duration')} htmlFor="consent-expires" required>
                  <Select id="consent-expires" virtual={false} value={days} onChange={setDays} options={DURATIONS.map((d) => ({ value: d, label: t('citizen.consents.days', { count: d }) }))} />
                </Form.Item>
                <Form.Item label={t('citizen.consents.use')} htmlFor="consent-use">
                  <Select
                    id="consent-use"
                    virtual={false}
                    value={use}
                    onChange={setUse}
                    options={[
                      { value: 'single', label: t('citizen.consents.use.single') },
                      { value: 'until-expiry', label: t('citizen.consents.use.multiple') },
                    ]}
                  />
                </Form.Item>
              </>
            )}
            <Button type="primary" htmlType="submit" loading={busy === 'give'} disabled={!option || !purpose || fields.length === 0}>
              {t('citizen.consents.submit')}
            </Button>
          </Form>
        )}
      </Card>
      {!consents ? (
        <Spin aria-label={t('loading')} />
      ) : (
        <Table<Consent>
          rowKey="id"
          dataSource={consents}
          scroll={{ x: 'max-content' }}
          size="middle"
          pagination={false}
          locale={{ emptyText: t('citizen.consents.none') }}
          columns={[
            { title: t('citizen.consents.status'), key: 'status', render: (_, c) => <Tag color={STATUS_COLOURS[c.status]}>{t(`citizen.consents.status.${c.status}`)}</Tag> },
            { title: t('citizen.consents.provider'), key: 'provider', render: (_, c) => `${names.get(c.provider) ?? c.provider} (${c.provider})` },
            { title: t('citizen.consents.requester'), key: 'requester', render: (_, c) => `${names.get(c.requester) ?? c.requester} (${c.requester})` },
            { title: t('citizen.consents.service'), key: 'service', dataIndex: 'service' },
            { title: t('citizen.consents.purpose'), key: 'purpose', dataIndex: 'purpose' },
            { title: t('citizen.consents.fields'), key: 'fields', render: (_, c) => c.fields.join(', ') },
            { title: t('citizen.consents.expires'), key: 'expires', render: (_, c) => new Date(c.expiresAt).toLocaleDateString() },
            {
              title: '',
              key: 'revoke',
              render: (_, c) =>
                c.status === 'active' ? (
                  <Button size="small" danger loading={busy === c.id} onClick={() => void revoke(c.id)}>
                    {t('citizen.consents.revoke')}
                  </Button>
                ) : null,
            },
          ]}
        />
      )}
    </Space>
  );
}
