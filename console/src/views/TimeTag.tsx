import { Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import type { TimeStatus } from '../api/client.ts';

const COLOURS = { green: 'green', yellow: 'gold', red: 'red', none: 'default' } as const;

/** The time left as the node computed it: green, yellow (little left), red (overdue). */
export function TimeTag({ time }: { time: TimeStatus }) {
  const { t } = useTranslation();
  const text = time.finished
    ? t('finished')
    : !time.started
      ? t('notStarted')
      : time.clockStopped
        ? t('clockStopped')
        : time.overdue
          ? t('overdue', { count: Math.abs(time.remainingDays) })
          : t('days', { count: time.remainingDays });
  return (
    <Tag color={COLOURS[time.light]} data-light={time.light}>
      {text}
    </Tag>
  );
}
