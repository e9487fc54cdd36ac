import { Alert, Button, Card, Checkbox, Descriptions, Empty, Form, Input, List, Modal, Radio, Select, Space, Tag, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, pageMeta, type Case, type CaseOut, type CaseState, type Me } from '../../api/client.ts';
import type { paths } from '../../api/schema.d.ts';
import { useLiveRefresh } from '../../live.ts';
import { problemDetail, type CompetentNode, type ThreadMessage } from './common.ts';

type StaffAction = paths['/v1/cases/{id}/actions/{action}']['post']['parameters']['path']['action'];
type ActionBody = NonNullable<paths['/v1/cases/{id}/actions/{action}']['post']['requestBody']>['content']['application/json'];
type Role = 'clerk' | 'approver' | 'supervisor';
type Seat = 'accepting' | 'competent' | 'participant';
/** What the form of a step asks for (besides a confirmation). */
type Input = 'materials' | 'reason' | 'requested' | 'shipment' | 'receive' | 'lost' | 'decision' | 'conclusion' | 'delivery' | 'evidence';

const OPEN: CaseState[] = ['applied', 'pending_materials', 'accepted', 'in_review', 'returned', 'suspended', 'special_procedure'];
const NOT_TERMINAL: CaseState[] = [...OPEN, 'decided', 'concluded'];

/**
 * The staff steps of the case state machine (src/cases/state-machine.ts): the states each is taken
 * from, the roles that take it, where the person must sit, and what its form asks. The menu of
 * steps only follows the node's rules: the node checks every step again and refuses with a problem.
 */
const STEPS: ReadonlyArray<{ action: StaffAction | 'fetch-evidence'; from: CaseState[]; roles: Role[]; seat: Seat; inputs: Input[]; proxyOnly?: boolean; danger?: boolean }> = [
  { action: 'precheck', from: ['applied', 'pending_materials'], roles: ['clerk'], seat: 'accepting', inputs: ['materials'] },
  { action: 'request-materials', from: ['applied'], roles: ['clerk'], seat: 'accepting', inputs: ['requested', 'reason'] },
  { action: 'complete-materials', from: ['pending_materials'], roles: ['clerk'], seat: 'accepting', inputs: [] },
  { action: 'accept', from: ['applied'], roles: ['clerk'], seat: 'accepting', inputs: [] },
  { action: 'reject', from: ['applied', 'pending_materials'], roles: ['clerk'], seat: 'accepting', inputs: ['reason'], danger: true },
  { action: 'ship', from: ['accepted', 'in_review', 'returned'], roles: ['clerk'], seat: 'accepting', inputs: ['shipment'], proxyOnly: true },
  { action: 'receive', from: ['accepted', 'in_review', 'returned'], roles: ['clerk', 'approver'], seat: 'competent', inputs: ['receive'], proxyOnly: true },
  { action: 'report-lost', from: ['accepted', 'in_review', 'returned'], roles: ['clerk', 'approver'], seat: 'participant', inputs: ['lost', 'reason'], proxyOnly: true, danger: true },
  { action: 'fetch-evidence', from: NOT_TERMINAL, roles: ['clerk', 'approver', 'supervisor'], seat: 'participant', inputs: ['evidence'] },
  { action: 'start-review', from: ['accepted'], roles: ['approver'], seat: 'competent', inputs: [] },
  { action: 'return', from: ['accepted', 'in_review'], roles: ['approver'], seat: 'competent', inputs: ['reason'], danger: true },
  { action: 'resubmit', from: ['returned'], roles: ['clerk'], seat: 'accepting', inputs: [] },
  { action: 'start-special', from: ['in_review'], roles: ['approver'], seat: 'competent', inputs: ['reason'] },
  { action: 'end-special', from: ['special_procedure'], roles: ['approver'], seat: 'competent', inputs: [] },
  { action: 'suspend', from: ['accepted', 'in_review'], roles: ['approver', 'supervisor'], seat: 'participant', inputs: ['reason'] },
  { action: 'resume', from: ['suspended'], roles: ['approver', 'supervisor'], seat: 'participant', inputs: [] },
  { action: 'decide', from: ['in_review'], roles: ['approver'], seat: 'competent', inputs: ['decision'] },
  { action: 'conclude', from: ['decided'], roles: ['approver'], seat: 'competent', inputs: ['conclusion'] },
  { action: 'deliver', from: ['concluded'], roles: ['clerk'], seat: 'participant', inputs: ['delivery'] },
  { action: 'withdraw', from: OPEN, roles: ['clerk'], seat: 'accepting', inputs: ['reason'], danger: true },
  { action: 'escalate', from: OPEN, roles: ['supervisor'], seat: 'participant', inputs: ['reason'] },
];
type Step = (typeof STEPS)[number];

function seated(c: Case, node: string, seat: Seat): boolean {
  if (seat === 'accepting') return c.acceptingNode === node;
  if (seat === 'competent') return c.competentNodes.includes(node);
  return c.acceptingNode === node || c.competentNodes.includes(node);
}

/** The steps this person may take on this case now, by role, seat and state (and what the case has: shipments, a part to decide). */
function stepsFor(c: Case, roles: readonly string[], node: string): Step[] {
  return STEPS.filter((s) => {
    if (!s.from.includes(c.state) || !s.roles.some((r) => roles.includes(r)) || !seated(c, node, s.seat)) return false;
    if (s.proxyOnly && c.mode !== 'proxy') return false;
    if (s.action === 'request-materials' && c.materialsRequested) return false;
    if (s.action === 'receive') return c.shipments.some((sh) => sh.to === node && sh.status === 'sent');
    if (s.action === 'report-lost') return c.shipments.some((sh) => sh.status === 'sent');
    if (s.action === 'decide') return c.parts.find((p) => p.node === node)?.status === 'pending';
    if (s.action === 'escalate') return !c.escalated;
    return true;
  });
}

interface FormValues {
  reason?: string;
  checked?: string[];
  identityVerified?: boolean;
  requested?: string[];
  carrier?: string;
  trackingNumber?: string;
  contents?: string[];
  shipmentId?: string;
  outcome?: 'grant' | 'refuse';
  resultCode?: string;
  resultDescription?: string;
  certificateFields?: Record<string, string | undefined>;
  method?: 'online' | 'post' | 'counter';
  provider?: string;
  service?: string;
  purpose?: string;
  consent?: string;
}

/** The body of a step from its form's values. */
function bodyOf(step: Step, c: Case, v: FormValues): ActionBody {
  const reason = v.reason?.trim() ? { reason: v.reason.trim() } : {};
  switch (step.action) {
    case 'precheck': {
      const checked = new Set(v.checked ?? []);
      return { materials: c.materials.map((m) => ({ name: m.name, checked: checked.has(m.name) })), identityVerified: v.identityVerified === true };
    }
    case 'request-materials':
      return { ...reason, requestedMaterials: v.requested ?? [] };
    case 'ship':
      return { shipment: { carrier: v.carrier?.trim() ?? '', trackingNumber: v.trackingNumber?.trim() ?? '', contents: v.contents ?? [] } };
    case 'receive':
      return { ...(v.shipmentId ? { shipmentId: v.shipmentId } : {}) };
    case 'report-lost':
      return { ...reason, ...(v.shipmentId ? { shipmentId: v.shipmentId } : {}) };
    case 'decide':
      return { ...reason, ...(v.outcome ? { outcome: v.outcome } : {}) };
    case 'conclude': {
      const fields = Object.fromEntries(Object.entries(v.certificateFields ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].trim() !== '').map(([k, val]) => [k, val.trim()]));
      return { result: { code: v.resultCode?.trim() ?? '', description: v.resultDescription?.trim() ?? '' }, ...(Object.keys(fields).length > 0 ? { certificateFields: fields } : {}) };
    }
    case 'deliver':
      return { ...(v.method ? { method: v.method } : {}), ...(v.trackingNumber?.trim() ? { trackingNumber: v.trackingNumber.trim() } : {}) };
    default:
      return reason;
  }
}

/** One step's labelled form in a dialog: sent to the node, its refusal's detail shown in the dialog, the case reloaded after. */
function StepDialog({ step, view, node, partners, onClose, onDone }: { step: Step; view: CaseOut; node: string; partners: CompetentNode[]; onClose: () => void; onDone: () => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<FormValues>();
  const [refusal, setRefusal] = useState<string | undefined>();
  const [sending, setSending] = useState(false);
  const c = view.case;
  const provider = Form.useWatch('provider', form);
  const service = Form.useWatch('service', form);
  const has = (input: Input) => step.inputs.includes(input);
  const providers = partners.filter((p) => p.grants.length > 0);
  const grants = providers.find((p) => p.division === provider)?.grants ?? [];
  const grant = grants.find((g) => g.service === service);
  const form_ = `step-${step.action}`;

  const submit = async (values: FormValues) => {
    setRefusal(undefined);
    setSending(true);
    try {
      const { error } =
        step.action === 'fetch-evidence'
          ? await api.POST('/v1/cases/{id}/evidence', {
              params: { path: { id: c.id } },
              body: { provider: values.provider ?? '', service: values.service ?? '', purpose: values.purpose ?? '', ...(values.consent?.trim() ? { consent: values.consent.trim() } : {}) },
            })
          : await api.POST('/v1/cases/{id}/actions/{action}', { params: { path: { id: c.id, action: step.action } }, body: bodyOf(step, c, values) });
      if (error) setRefusal(problemDetail(error, t('staff.refused')));
      else onDone();
    } finally {
      setSending(false);
    }
  };

  const physical = c.materials.filter((m) => m.kind === 'physical').map((m) => m.name);
  const initial: FormValues = {
    checked: c.materials.filter((m) => m.checked).map((m) => m.name),
    identityVerified: c.identityVerified,
    contents: physical,
    ...(view.certificateForm ? { certificateFields: Object.fromEntries(view.certificateForm.fields.map((f) => [f.name, f.value])) } : {}),
  };
  const inTransit = c.shipments.filter((s) => s.status === 'sent' && (step.action !== 'receive' || s.to === node));

  return (
    <Modal
      open
      title={t(`staff.action.${step.action}`)}
      onCancel={onClose}
      okText={t('staff.send')}
      cancelText={t('staff.cancel')}
      okButtonProps={{ htmlType: 'submit', form: form_, loading: sending, danger: step.danger === true }}
      destroyOnHidden
    >
      <Form<FormValues> form={form} id={form_} name={form_} layout="vertical" initialValues={initial} onFinish={(values) => void submit(values)}>
        <Typography.Paragraph>{t(`staff.help.${step.action}`)}</Typography.Paragraph>
        {has('materials') && (
          <>
            <Form.Item name="checked" label={t('staff.materialsChecked')}>
              <Checkbox.Group style={{ display: 'flex', flexDirection: 'column', gap: 8 }}>
                {c.materials.map((m) => (
                  <Checkbox key={m.name} value={m.name}>
                    {m.name} <Tag>{t(m.kind)}</Tag>
                    <Tag color={m.required ? 'blue' : 'default'}>{m.required ? t('required') : t('optional')}</Tag>
                  </Checkbox>
                ))}
              </Checkbox.Group>
            </Form.Item>
            <Form.Item name="identityVerified" valuePropName="checked">
              <Checkbox>{t('staff.identityVerified')}</Checkbox>
            </Form.Item>
          </>
        )}
        {has('requested') && (
          <Form.Item name="requested" label={t('staff.requestedMaterials')} rules={[{ required: true, message: t('staff.required') }]}>
            <Select mode="tags" virtual={false} options={c.materials.map((m) => ({ value: m.name, label: m.name }))} />
          </Form.Item>
        )}
        {has('shipment') && (
          <>
            <Form.Item name="carrier" label={t('staff.carrier')} rules={[{ required: true, whitespace: true, message: t('staff.required') }]}>
              <Input maxLength={50} />
            </Form.Item>
            <Form.Item name="trackingNumber" label={t('staff.trackingNumber')} rules={[{ required: true, whitespace: true, message: t('staff.required') }]}>
              <Input maxLength={60} />
            </Form.Item>
            <Form.Item name="contents" label={t('staff.contents')} rules={[{ required: true, message: t('staff.required') }]}>
              <Checkbox.Group options={c.materials.map((m) => ({ value: m.name, label: m.name }))} />
            </Form.Item>
          </>
        )}
        {(has('receive') || has('lost')) && (
          <Form.Item name="shipmentId" label={t('staff.shipment')} rules={[{ required: true, message: t('staff.required') }]}>
            <Radio.Group
              style={{ display: 'flex', flexDirection: 'column', gap: 8 }}
              options={inTransit.map((s) => ({ value: s.id, label: `${s.carrier} ${s.trackingNumber} → ${s.to} (${s.contents.join('、')})` }))}
            />
          </Form.Item>
        )}
        {has('decision') && (
          <Form.Item name="outcome" label={t('staff.outcome')} rules={[{ required: true, message: t('staff.required') }]}>
            <Radio.Group options={[{ value: 'grant', label: t('staff.grant') }, { value: 'refuse', label: t('staff.refuse') }]} />
          </Form.Item>
        )}
        {has('conclusion') && (
          <>
            <Form.Item name="resultCode" label={t('staff.resultCode')} rules={[{ required: true, whitespace: true, message: t('staff.required') }]}>
              <Input maxLength={40} />
            </Form.Item>
            <Form.Item name="resultDescription" label={t('staff.resultDescription')}>
              <Input.TextArea maxLength={1000} rows={2} />
            </Form.Item>
            {view.certificateForm && c.decision?.outcome === 'grant' && (
              <Card size="small" title={t('staff.certificateFields', { name: view.certificateForm.name })}>
                <Typography.Paragraph type="secondary">{t('staff.certificateFieldsHelp')}</Typography.Paragraph>
                {view.certificateForm.fields.map((f) => (
                  <Form.Item key={f.name} name={['certificateFields', f.name]} label={`${f.label} (${f.name})`} rules={f.required ? [{ required: true, whitespace: true, message: t('staff.required') }] : []}>
                    <Input maxLength={200} />
                  </Form.Item>
                ))}
              </Card>
            )}
          </>
        )}
        {has('delivery') && (
          <>
            <Form.Item name="method" label={t('staff.deliveryMethod')} rules={[{ required: true, message: t('staff.required') }]}>
              <Radio.Group options={(['counter', 'post', 'online'] as const).map((m) => ({ value: m, label: t(`staff.delivery.${m}`) }))} />
            </Form.Item>
            <Form.Item name="trackingNumber" label={t('staff.trackingNumberOptional')}>
              <Input maxLength={60} />
            </Form.Item>
          </>
        )}
        {has('evidence') && (
          <>
            {providers.length === 0 && <Alert type="info" showIcon title={t('staff.noGrants')} style={{ marginBottom: 16 }} />}
            <Form.Item name="provider" label={t('provider')} rules={[{ required: true, message: t('staff.required') }]}>
              <Select
                virtual={false}
                options={providers.map((p) => ({ value: p.division, label: `${p.name} (${p.division})` }))}
                onChange={() => form.setFieldsValue({ service: undefined, purpose: undefined })}
              />
            </Form.Item>
            <Form.Item name="service" label={t('service')} rules={[{ required: true, message: t('staff.required') }]}>
              <Select virtual={false} options={[...new Set(grants.map((g) => g.service))].map((s) => ({ value: s, label: s }))} onChange={() => form.setFieldsValue({ purpose: undefined })} />
            </Form.Item>
            <Form.Item name="purpose" label={t('purpose')} rules={[{ required: true, message: t('staff.required') }]}>
              <Select virtual={false} options={(grant?.purposes ?? []).map((p) => ({ value: p, label: p }))} />
            </Form.Item>
            {grant?.consentRequired && (
              <Form.Item name="consent" label={t('staff.consent')} rules={[{ required: true, whitespace: true, message: t('staff.required') }]}>
                <Input />
              </Form.Item>
            )}
          </>
        )}
        {has('reason') && (
          <Form.Item name="reason" label={t('staff.reason')} rules={[{ required: true, whitespace: true, message: t('staff.required') }]}>
            <Input.TextArea maxLength={1000} rows={2} />
          </Form.Item>
        )}
        {has('decision') && (
          <Form.Item name="reason" label={t('staff.reason')} rules={[{ required: true, whitespace: true, message: t('staff.required') }]}>
            <Input.TextArea maxLength={1000} rows={2} />
          </Form.Item>
        )}
        {refusal && <Alert role="alert" type="error" showIcon title={t('staff.refusedTitle')} description={refusal} />}
      </Form>
    </Modal>
  );
}

/** The consultation thread with the other nodes of the case (signed by each node), and a post to it. */
function Thread({ id, accepted }: { id: string; accepted: boolean }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ text: string; escalation?: boolean }>();
  const [messages, setMessages] = useState<ThreadMessage[] | undefined>();
  const [refusal, setRefusal] = useState<string | undefined>();
  const [loadError, setLoadError] = useState<string | undefined>();
  const [loads, setLoads] = useState(0);
  const reload = useCallback(() => setLoads((n) => n + 1), []);

  useEffect(() => {
    let current = true;
    void api.GET('/v1/cases/{id}/thread', { params: { path: { id }, query: { limit: 200, offset: 0 } } }).then(({ data, error }) => {
      if (!current) return;
      if (data) {
        setMessages(data.messages);
        setLoadError(undefined);
      } else setLoadError(problemDetail(error, t('loadFailed')));
    });
    return () => {
      current = false;
    };
  }, [id, loads, t]);
  useLiveRefresh(reload, (event) => event.kind === 'message' && event.data.caseId === id);

  const post = async (values: { text: string; escalation?: boolean }) => {
    setRefusal(undefined);
    const { error } = await api.POST('/v1/cases/{id}/thread', { params: { path: { id } }, body: { text: values.text.trim(), escalation: values.escalation === true } });
    if (error) return setRefusal(problemDetail(error, t('staff.refused')));
    form.resetFields();
    reload();
  };

  return (
    <Card size="small" title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('staff.thread')}</Typography.Title>}>
      {loadError && <Alert type="warning" showIcon title={loadError} style={{ marginBottom: 12 }} />}
      {messages && messages.length === 0 && <Empty description={t('staff.noMessages')} image={Empty.PRESENTED_IMAGE_SIMPLE} />}
      {messages && messages.length > 0 && (
        <List
          size="small"
          dataSource={messages}
          data-testid="thread"
          renderItem={(m) => (
            <List.Item>
              <Space orientation="vertical" size={2} style={{ width: '100%' }}>
                <Space wrap size={4}>
                  <Tag>{m.node}</Tag>
                  <Typography.Text type="secondary">{t('by', { role: t(`role.${m.role}`), node: m.node })}</Typography.Text>
                  <Typography.Text type="secondary">{new Date(m.at).toLocaleString()}</Typography.Text>
                  {m.escalation && <Tag color="orange">{t('staff.escalation')}</Tag>}
                </Space>
                <Typography.Paragraph style={{ margin: 0, whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>{m.text}</Typography.Paragraph>
              </Space>
            </List.Item>
          )}
        />
      )}
      {!accepted ? (
        <Typography.Paragraph type="secondary" style={{ marginTop: 12, marginBottom: 0 }}>
          {t('staff.threadOpensOnAcceptance')}
        </Typography.Paragraph>
      ) : (
      <Form form={form} name={`thread-${id}`} layout="vertical" onFinish={(values) => void post(values)} style={{ marginTop: 12 }}>
        <Form.Item name="text" label={t('staff.consult')} rules={[{ required: true, whitespace: true, message: t('staff.required') }]}>
          <Input.TextArea maxLength={4000} rows={2} />
        </Form.Item>
        <Form.Item name="escalation" valuePropName="checked">
          <Checkbox>{t('staff.escalateToSupervisor')}</Checkbox>
        </Form.Item>
        {refusal && <Alert role="alert" type="error" showIcon title={t('staff.refusedTitle')} description={refusal} style={{ marginBottom: 12 }} />}
        <Button htmlType="submit">{t('staff.post')}</Button>
      </Form>
      )}
    </Card>
  );
}

/**
 * What this member of staff can do on a case they see: the steps their role may take in its state
 * at this node (each a labelled form in a dialog), its shipments, the certificate issued for it,
 * and the consultation thread with the other nodes.
 */
export function StaffCaseActions({ view, reload }: { view: CaseOut; reload: () => void }) {
  const { t } = useTranslation();
  const node = pageMeta('tongban-division');
  const [me, setMe] = useState<Me | undefined>();
  const [open, setOpen] = useState<Step | undefined>();
  const [partners, setPartners] = useState<CompetentNode[]>([]);
  const c = view.case;

  useEffect(() => {
    let current = true;
    void api.GET('/v1/auth/me').then(({ data }) => {
      if (current && data) setMe(data);
    });
    return () => {
      current = false;
    };
  }, []);
  useEffect(() => {
    let current = true;
    void api.GET('/v1/cases/competent-nodes', { params: { query: { itemCode: c.itemCode } } }).then(({ data }) => {
      if (current && data) setPartners(data.nodes);
    });
    return () => {
      current = false;
    };
  }, [c.itemCode]);

  const roles = me && me.kind !== 'citizen' ? me.roles : [];
  const steps = stepsFor(c, roles, node);
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Card size="small" title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('staff.actions')}</Typography.Title>}>
        {steps.length === 0 ? (
          <Typography.Text type="secondary">{t('staff.noActions')}</Typography.Text>
        ) : (
          <Space wrap>
            {steps.map((s) => (
              <Button key={s.action} danger={s.danger === true} type={s.danger ? 'default' : 'primary'} ghost={!s.danger} onClick={() => setOpen(s)}>
                {t(`staff.action.${s.action}`)}
              </Button>
            ))}
          </Space>
        )}
      </Card>
      {open && (
        <StepDialog
          key={`${open.action}-${c.version}`}
          step={open}
          view={view}
          node={node}
          partners={partners}
          onClose={() => setOpen(undefined)}
          onDone={() => {
            setOpen(undefined);
            reload();
          }}
        />
      )}
      {view.certificate && (
        <Card size="small" title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('staff.certificate')}</Typography.Title>}>
          <Descriptions size="small" column={1} data-testid="certificate">
            <Descriptions.Item label={t('staff.certificateId')}>
              <Typography.Text code style={{ overflowWrap: 'anywhere' }}>
                {view.certificate.id}
              </Typography.Text>
            </Descriptions.Item>
            <Descriptions.Item label={t('staff.certificateType')}>{view.certificate.vct}</Descriptions.Item>
            <Descriptions.Item label={t('staff.certificateStatus')}>
              <Tag color={view.certificate.status === 'valid' ? 'green' : 'red'}>{t(`staff.certificateStatus.${view.certificate.status}`)}</Tag>
            </Descriptions.Item>
          </Descriptions>
        </Card>
      )}
      {(c.shipments.length > 0 || c.decision || c.result) && (
        <Card size="small" title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('staff.progress')}</Typography.Title>}>
          <Descriptions size="small" column={1}>
            {c.shipments.map((s) => (
              <Descriptions.Item key={s.id} label={t('staff.shipment')}>
                <Space wrap size={4}>
                  <span>
                    {s.carrier} {s.trackingNumber} → {s.to}
                  </span>
                  <Tag color={s.status === 'received' ? 'green' : s.status === 'lost' ? 'red' : 'blue'}>{t(`staff.shipmentStatus.${s.status}`)}</Tag>
                  <span>{s.contents.join('、')}</span>
                </Space>
              </Descriptions.Item>
            ))}
            {c.decision && (
              <Descriptions.Item label={t('staff.decision')}>
                <Tag color={c.decision.outcome === 'grant' ? 'green' : 'red'}>{t(c.decision.outcome === 'grant' ? 'staff.grant' : 'staff.refuse')}</Tag> {c.decision.reason}
              </Descriptions.Item>
            )}
            {c.result && (
              <Descriptions.Item label={t('staff.result')}>
                {c.result.code} {c.result.description}
              </Descriptions.Item>
            )}
          </Descriptions>
        </Card>
      )}
      <Thread id={c.id} accepted={c.acceptedAt !== undefined} />
    </Space>
  );
}
