import { Alert, Button, Card, Form, Input, List, Select, Space, Spin, Tag, Typography } from 'antd';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type Me } from '../../api/client.ts';
import type { paths } from '../../api/schema.d.ts';
import { caseHref, go } from '../../router.ts';
import { problemText } from '../../problem.ts';

type Item = paths['/v1/catalog/items']['get']['responses'][200]['content']['application/json']['items'][number];
type Mode = Item['modes'][number];
type NodeOption = paths['/v1/cases/competent-nodes']['get']['responses'][200]['content']['application/json']['nodes'][number];

/**
 * A citizen applies online at this node (POST /v1/cases): an item of the catalogue, one of its
 * modes, the deciding node(s) from the directory (those under an agreement for the item first). The applicant is the signed-in citizen: the node
 * takes them from the sign-in, the form sends no name or ID number.
 */
export function Apply({ me }: { me: Me }) {
  const { t } = useTranslation();
  const [items, setItems] = useState<Item[] | undefined>();
  const [nodes, setNodes] = useState<NodeOption[]>([]);
  const [preview, setPreview] = useState<string[]>([]);
  const [itemCode, setItemCode] = useState<string | undefined>();
  const [mode, setMode] = useState<Mode | undefined>();
  const [competent, setCompetent] = useState<string[]>([]);
  const [phone, setPhone] = useState('');
  const [sending, setSending] = useState(false);
  const [failed, setFailed] = useState<string | undefined>();

  useEffect(() => {
    void api.GET('/v1/catalog/items', { params: { query: { limit: 500, audience: 'individual' } } }).then(({ data }) => setItems(data?.items ?? []));
    void api.GET('/v1/me/options').then(({ data }) => setPreview(data?.previewItems ?? []));
  }, []);
  // Where this item can be decided, in this mode: the directory's nodes, those under an agreement first.
  useEffect(() => {
    setNodes([]);
    if (!itemCode || !mode) return;
    let current = true;
    void api.GET('/v1/cases/competent-nodes', { params: { query: { itemCode, mode } } }).then(({ data }) => {
      if (current) setNodes(data?.nodes ?? []);
    });
    return () => {
      current = false;
    };
  }, [itemCode, mode]);
  const item = useMemo(() => items?.find((i) => i.code === itemCode), [items, itemCode]);
  const joint = mode === 'joint';

  const submit = async () => {
    if (!item || !mode || competent.length === 0) return;
    setSending(true);
    setFailed(undefined);
    const { data, error } = await api.POST('/v1/cases', { body: { itemCode: item.code, mode, competentNodes: competent, ...(phone ? { phone } : {}) } });
    setSending(false);
    if (data) go(caseHref(data.case.id));
    else setFailed(problemText(error, t('loadFailed')));
  };

  if (!items) return <Spin aria-label={t('loading')} />;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t('citizen.apply.title')}
      </Typography.Title>
      <Typography.Paragraph style={{ margin: 0 }}>{t('citizen.apply.intro')}</Typography.Paragraph>
      <Form layout="vertical" onFinish={() => void submit()} style={{ maxWidth: 640 }}>
        <Form.Item label={t('citizen.apply.applicant')}>
          <Typography.Text data-testid="applicant">{me.name}</Typography.Text>
        </Form.Item>
        <Form.Item label={t('citizen.apply.item')} htmlFor="apply-item" required>
          <Select
            id="apply-item"
            showSearch={{ optionFilterProp: 'label' }}
            virtual={false}
            value={itemCode}
            onChange={(code: string) => {
              setItemCode(code);
              const next = items.find((i) => i.code === code);
              setMode(next?.modes.includes('online') ? 'online' : next?.modes[0]);
              setCompetent([]);
            }}
            options={items.map((i) => ({ value: i.code, label: `${i.code} ${i.name}` }))}
          />
        </Form.Item>
        {item && (
          <>
            <Form.Item label={t('citizen.apply.mode')} htmlFor="apply-mode" required>
              <Select
                id="apply-mode"
                virtual={false}
                value={mode}
                onChange={(m: Mode) => {
                  setMode(m);
                  setCompetent([]);
                }}
                options={item.modes.map((m) => ({ value: m, label: t(`mode.${m}`) }))}
              />
            </Form.Item>
            <Form.Item label={t('citizen.apply.competent')} htmlFor="apply-competent" required>
              <Select
                id="apply-competent"
                virtual={false}
                mode={joint ? 'multiple' : undefined}
                value={joint ? competent : competent[0]}
                onChange={(value: string | string[]) => setCompetent(Array.isArray(value) ? value : [value])}
                options={nodes.map((n) => ({ value: n.division, label: `${n.name} (${n.division})${n.agreements.length > 0 ? ` · ${t('citizen.apply.covered')}` : ''}` }))}
              />
            </Form.Item>
            <Form.Item label={t('citizen.apply.phone')} htmlFor="apply-phone">
              <Input id="apply-phone" inputMode="tel" maxLength={20} value={phone} onChange={(e) => setPhone(e.target.value)} autoComplete="tel" />
            </Form.Item>
            {(item.preview || preview.includes(item.code)) && <Alert type="info" showIcon title={t('citizen.apply.preview')} style={{ marginBottom: 16 }} />}
            {item.materials.length > 0 && (
              <Card size="small" title={t('citizen.apply.materials')} style={{ marginBottom: 16 }}>
                <List size="small" dataSource={item.materials} renderItem={(m) => <List.Item>{m.name} <Tag>{m.required ? t('required') : t('optional')}</Tag></List.Item>} />
              </Card>
            )}
          </>
        )}
        {failed && <Alert type="error" showIcon title={t('citizen.apply.failed', { detail: failed })} style={{ marginBottom: 16 }} />}
        <Button type="primary" htmlType="submit" loading={sending} disabled={!item || !mode || competent.length === 0 || (joint && competent.length < 2)}>
          {t('citizen.apply.submit')}
        </Button>
      </Form>
    </Space>
  );
}
