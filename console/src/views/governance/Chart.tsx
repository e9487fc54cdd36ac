import { BarChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'react';

// Only what the dashboards draw (the full bundle is 1.3 MB): bars, axes, a legend, ARIA, SVG.
echarts.use([BarChart, GridComponent, LegendComponent, AriaComponent, SVGRenderer]);

export interface BarSeries {
  readonly name: string;
  readonly data: readonly (number | null)[];
}

/**
 * A bar chart drawn by Apache ECharts with its SVG renderer: under the page's strict CSP it only
 * sets styles through the CSSOM (never a style attribute in markup, never an HTML tooltip), and
 * animation is off (its CSS would need an inline <style>). The numbers are in the table next to
 * it; the chart is an image with a label for screen readers.
 */
export function Bars({ title, categories, series, max, testId }: { title: string; categories: readonly string[]; series: readonly BarSeries[]; max?: number; testId: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const key = JSON.stringify({ categories, series, max });
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const chart = echarts.init(element, undefined, { renderer: 'svg' });
    const narrow = element.clientWidth < 500;
    chart.setOption({
      animation: false,
      aria: { enabled: true, label: { description: title } },
      legend: { top: 0, type: 'scroll' },
      grid: { left: 48, right: 16, top: 40, bottom: narrow ? 96 : 64 },
      xAxis: { type: 'category', data: [...categories], axisLabel: { interval: 0, rotate: narrow || categories.length > 4 ? 35 : 0, width: 110, overflow: 'truncate' } },
      yAxis: { type: 'value', minInterval: 1, ...(max !== undefined ? { max } : {}) },
      series: series.map((s) => ({ type: 'bar', name: s.name, data: [...s.data], label: { show: categories.length <= 6, position: 'top' } })),
    });
    const resize = new ResizeObserver(() => chart.resize());
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.dispose();
    };
    // The option is rebuilt when what it draws changes (key), not on every render.
  }, [key, title]);
  return <div ref={ref} role="img" aria-label={title} data-testid={testId} className="governance-chart" />;
}
