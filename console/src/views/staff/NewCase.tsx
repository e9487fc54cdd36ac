import { Alert, Button, Card, Checkbox, Form, Input, Radio, Result, Select, Space, Tag, Typography } from 'antd';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, pageMeta, type Case, type Me } from '../../api/client.ts';
import { caseHref, go, navigate } from '../../router.ts';
import { idNumberProblem, problemDetail, type CatalogItem, type CompetentNode } from './common.ts';

type Mode = Case['mode'];
interface Values {
  itemCode: string;
  mode: Mode;
  competentNodes: string | string[];
  idNumber: string;
  name: string;
  phone?: string;
  checked?: string[];
  identityVerified?: boolean;
}

/**
 * 异地受理: a counter clerk accepts an application for an item another region decides. The item
 * comes from the catalogue, the competent node from the directory (agreements covering the item
 * first), the materials with the item's acceptance criteria are ticked off as checked at the
 * counter. The node opens the case (POST /v1/cases), then records the counter's checks (precheck).
 */
export function NewCase({ me }: { me: Me }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<Values>();
  const [items, setItems] = useState<CatalogItem[]>([]);
  const [nodes, setNodes] = useState<CompetentNode[]>([]);
  const [refusal, setRefusal] = useState<string | undefined>();
  const [sending, setSending] = useState(false);
  const itemCode = Form.useWatch('itemCode', form);
  const mode = Form.useWatch('mode', form);
  const item = useMemo(() => items.find((i) => i.code === itemCode), [items, itemCode]);
  const clerk = me.kind !== 'citizen' && me.roles.includes('clerk');
  const self = pageMeta('tongban-division');

  useEffect(() => {
    if (!clerk) return;
    let current = true;
    void api.GET('/v1/catalog/items', { params: { query: { limit: 500 } } }).then(({ data }) => {
      if (current && data) setItems(data.items);
    });
    return () => {
      current = false;
    };
  }, [clerk]);

  useEffect(() => {
    setNodes([]);
    if (!itemCode || !mode) return;
    let current = true;
    void api.GET('/v1/cases/competent-nodes', { params: { query: { itemCode, mode } } }).then(({ data }) => {
      if (current && data) setNodes(data.nodes.filter((n) => n.division !== self));
    });
    return () => {
      current = false;
    };
  }, [itemCode, mode, self]);

  if (!clerk) return <Result status="403" title={t('staff.clerksOnly')} />;

  const submit = async (values: Values) => {
    setRefusal(undefined);
    setSending(true);
    try {
      const competentNodes = Array.isArray(values.competentNodes) ? values.competentNodes : [values.competentNodes];
      const applicant = { idNumber: values.idNumber.trim().toUpperCase(), name: values.name.trim(), ...(values.phone?.trim() ? { phone: values.phone.trim() } : {}) };
      const { data, error } = await api.POST('/v1/cases', { body: { itemCode: values.itemCode, mode: values.mode, competentNodes, applicant } });
      if (!data) return setRefusal(problemDetail(error, t('staff.refused')));
      const c = data.case;
      const checked = new Set(values.checked ?? []);
      // The counter's checks, recorded as the case's first step after the application.
      if (checked.size > 0 || values.identityVerified) {
        const { error: precheckError } = await api.POST('/v1/cases/{id}/actions/{action}', {
          params: { path: { id: c.id, action: 'precheck' } },
          body: { materials: c.materials.map((m) => ({ name: m.name, checked: checked.has(m.name) })), identityVerified: values.identityVerified === true },
        });
        if (precheckError) return setRefusal(problemDetail(precheckError, t('staff.refused')));
      }
      go(caseHref(c.id));
    } finally {
      setSending(false);
    }
  };

  const modes = item?.modes ?? [];
  const joint = mode === 'joint';
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <a href="/console/" onClick={(e) => navigate(e, '/console/')}>
        ← {t('backToList')}
      </a>
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t('staff.newCase')}
      </Typography.Title>
      <Typography.Paragraph style={{ margin: 0 }}>{t('staff.newCaseIntro')}</Typography.Paragraph>
      <Form<Values>
        form={form}
        name="new-case"
        layout="vertical"
        style={{ maxWidth: 720 }}
        onFinish={(values) => void submit(values)}
        onValuesChange={(changed: Partial<Values>) => {
          // Another item: its modes, nodes and materials are others.
          if ('itemCode' in changed) form.setFieldsValue({ mode: undefined as unknown as Mode, competentNodes: [], checked: [] });
          if ('mode' in changed) form.setFieldsValue({ competentNodes: [] });
        }}
      >
        <Form.Item label={t('item')} name="itemCode" rules={[{ required: true, message: t('staff.chooseItem') }]}>
          <Select
            showSearch={{ optionFilterProp: 'label' }}
            virtual={false}
            placeholder={t('staff.itemPlaceholder')}
            options={items.map((i) => ({ value: i.code, label: `${i.code} ${i.name}` }))}
          />
        </Form.Item>
        <Form.Item label={t('mode')} name="mode" rules={[{ required: true, message: t('staff.chooseMode') }]}>
          <Radio.Group disabled={!item} options={modes.map((m) => ({ value: m, label: t(`mode.${m}`) }))} />
        </Form.Item>
        <Form.Item
          label={t('competentNodes')}
          name="competentNodes"
          extra={t(joint ? 'staff.competentNodesJoint' : 'staff.competentNodesHelp')}
          rules={[{ required: true, message: t('staff.chooseNode') }]}
        >
          <Select
            mode={joint ? 'multiple' : undefined}
            showSearch={{ optionFilterProp: 'label' }}
            virtual={false}
            disabled={!mode}
            options={nodes.map((n) => ({
              value: n.division,
              label: `${n.name} (${n.division})${n.agreements.length > 0 ? ` · ${t('staff.underAgreement')}` : ''}`,
            }))}
          />
        </Form.Item>
        <Form.Item
          label={t('staff.idNumber')}
          name="idNumber"
          validateTrigger="onBlur"
          rules={[
            { required: true, message: t('staff.idNumberRequired') },
            {
              validator: async (_rule, value: string | undefined) => {
                if (!value) return;
                const problem = idNumberProblem(value);
                if (problem) throw new Error(t(`staff.idNumber.${problem}`));
              },
            },
          ]}
        >
          <Input autoComplete="off" maxLength={18} inputMode="text" />
        </Form.Item>
        <Form.Item label={t('staff.applicantName')} name="name" rules={[{ required: true, whitespace: true, message: t('staff.nameRequired') }]}>
          <Input autoComplete="off" maxLength={50} />
        </Form.Item>
        <Form.Item label={t('staff.phone')} name="phone">
          <Input autoComplete="off" maxLength={20} inputMode="tel" />
        </Form.Item>
        {item && (
          <Card size="small" title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('staff.acceptanceCriteria')}</Typography.Title>}>
            <Typography.Paragraph type="secondary">{t('staff.acceptanceCriteriaIntro')}</Typography.Paragraph>
            <Form.Item name="checked" label={t('staff.materialsChecked')}>
              <Checkbox.Group style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
                {item.materials.map((m) => (
                  <Checkbox key={m.name} value={m.name}>
                    <Space wrap size={4}>
                      <span>{m.name}</span>
                      <Tag>{t(m.kind)}</Tag>
                      <Tag color={m.required ? 'blue' : 'default'}>{m.required ? t('required') : t('optional')}</Tag>
                    </Space>
                  </Checkbox>
                ))}
              </Checkbox.Group>
            </Form.Item>
            <Form.Item name="identityVerified" valuePropName="checked" style={{ marginBottom: 0 }}>
              <Checkbox>{t('staff.identityVerified')}</Checkbox>
            </Form.Item>
          </Card>
        )}
        {refusal && <Alert role="alert" type="error" showIcon title={t('staff.refusedTitle')} description={refusal} style={{ marginTop: 16 }} />}
        <Form.Item style={{ marginTop: 16 }}>
          <Button type="primary" htmlType="submit" loading={sending}>
            {t('staff.openCase')}
          </Button>
        </Form.Item>
      </Form>
    </Space>
  );
}
