import { Alert, Card, Descriptions, Empty, List, Space, Spin, Tag, Timeline, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type CaseOut } from '../api/client.ts';
import { useLiveRefresh } from '../live.ts';
import { navigate } from '../router.ts';
import { CitizenCaseActions } from './citizen/CaseActions.tsx';
import { StaffCaseActions } from './staff/CaseActions.tsx';
import { TimeTag } from './TimeTag.tsx';

/** One case (GET /v1/cases/{id}, audited by the node): what it is, its materials, its evidence, its history. */
export function CaseDetail({ id, citizen }: { id: string; citizen: boolean }) {
  const { t } = useTranslation();
  const [view, setView] = useState<CaseOut | undefined>();
  const [missing, setMissing] = useState(false);

  const [loads, setLoads] = useState(0);
  const reload = useCallback(() => setLoads((n) => n + 1), []);

  useEffect(() => {
    let current = true;
    setMissing(false);
    void api.GET('/v1/cases/{id}', { params: { path: { id } } }).then(({ data }) => {
      if (!current) return;
      if (data) setView(data);
      else setMissing(true);
    });
    return () => {
      current = false;
    };
  }, [id, loads]);
  // Another case: nothing of the last one stays on the screen while this one loads.
  useEffect(() => setView(undefined), [id]);
  // Live: this case changed at this node (a step here, or one replayed from another node).
  useLiveRefresh(reload, (event) => event.kind === 'case' && event.data.id === id);

  const back = (
    <a href="/console/" onClick={(e) => navigate(e, '/console/')}>
      ← {t('backToList')}
    </a>
  );
  if (missing)
    return (
      <Space orientation="vertical">
        {back}
        <Alert type="warning" showIcon title={t('caseNotFound')} />
      </Space>
    );
  if (!view) return <Spin aria-label={t('loading')} />;
  const c = view.case;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      {back}
      <Typography.Title level={2} style={{ margin: 0 }}>
        {t('caseDetail')} <Typography.Text code>{c.id}</Typography.Text>
      </Typography.Title>
      <Descriptions bordered size="small" column={{ xs: 1, sm: 1, md: 2 }}>
        <Descriptions.Item label={t('item')}>
          {c.itemName} ({c.itemCode})
        </Descriptions.Item>
        <Descriptions.Item label={t('mode')}>{t(`mode.${c.mode}`)}</Descriptions.Item>
        <Descriptions.Item label={t('state')}>
          <Tag>{t(`state.${c.state}`)}</Tag>
        </Descriptions.Item>
        <Descriptions.Item label={t('timeLeft')}>
          <TimeTag time={view.time} />
        </Descriptions.Item>
        <Descriptions.Item label={t('applicant')}>{c.applicant.name}</Descriptions.Item>
        <Descriptions.Item label={t('acceptingNode')}>{c.acceptingNode}</Descriptions.Item>
        <Descriptions.Item label={t('competentNodes')}>{c.competentNodes.join(', ')}</Descriptions.Item>
        <Descriptions.Item label={t('updated')}>{new Date(c.updatedAt).toLocaleString()}</Descriptions.Item>
      </Descriptions>
      {citizen ? <CitizenCaseActions view={view} reload={reload} /> : <StaffCaseActions view={view} reload={reload} />}
      <Card title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('materials')}</Typography.Title>} size="small">
        {c.materials.length === 0 ? (
          <Empty description={t('noMaterials')} image={Empty.PRESENTED_IMAGE_SIMPLE} />
        ) : (
          <List
            size="small"
            dataSource={c.materials}
            renderItem={(m) => (
              <List.Item>
                <Space wrap>
                  <span>{m.name}</span>
                  <Tag>{t(m.kind)}</Tag>
                  <Tag>{m.required ? t('required') : t('optional')}</Tag>
                  <Tag color={m.checked ? 'green' : 'default'}>{m.checked ? t('checked') : t('unchecked')}</Tag>
                </Space>
              </List.Item>
            )}
          />
        )}
      </Card>
      <Card title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('evidence')}</Typography.Title>} size="small">
        {c.evidence.length === 0 ? (
          <Empty description={t('noEvidence')} image={Empty.PRESENTED_IMAGE_SIMPLE} />
        ) : (
          <List
            size="small"
            dataSource={c.evidence}
            renderItem={(e) => (
              <List.Item>
                <Descriptions size="small" column={1}>
                  <Descriptions.Item label={t('provider')}>{e.provider}</Descriptions.Item>
                  <Descriptions.Item label={t('service')}>{e.service}</Descriptions.Item>
                  <Descriptions.Item label={t('fetchedAt')}>{new Date(e.fetchedAt).toLocaleString()}</Descriptions.Item>
                  {e.purpose && <Descriptions.Item label={t('purpose')}>{e.purpose}</Descriptions.Item>}
                  {e.preview && <Descriptions.Item label={t('preview')}>{e.preview}</Descriptions.Item>}
                  {e.data &&
                    Object.entries(e.data).map(([field, value]) => (
                      <Descriptions.Item key={field} label={field}>
                        {typeof value === 'string' ? value : JSON.stringify(value)}
                      </Descriptions.Item>
                    ))}
                </Descriptions>
              </List.Item>
            )}
          />
        )}
      </Card>
      <Card title={<Typography.Title level={3} style={{ margin: 0, fontSize: 16 }}>{t('history')}</Typography.Title>} size="small">
        <Timeline
          items={c.history.map((h) => ({
            content: (
              <div>
                <strong>{t(`state.${h.to}`)}</strong> · {new Date(h.at).toLocaleString()}
                <div>
                  {t(`staff.action.${h.action}`, { defaultValue: h.action })} — {t('by', { role: t(`role.${h.actor.role}`), node: h.actor.node })}
                </div>
                {h.reason && <div>{h.reason}</div>}
              </div>
            ),
          }))}
        />
      </Card>
    </Space>
  );
}
