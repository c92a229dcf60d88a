/**
 * The throughput chart: one stacked bar per bucket (successful executions under failed ones), drawn as plain SVG.
 * Buckets the server left out (no executions) are drawn as gaps at zero, so time reads evenly left to right.
 */
import type { JSX } from 'preact';
import { formatCount } from '../format';
import type { Period, TrendPoint } from '../types';

/** Bucket width per period, as API.md fixes it. */
export const BUCKET_MS: Record<Period, number> = {
  '1h': 60_000,
  '6h': 5 * 60_000,
  '24h': 3_600_000,
  '7d': 3_600_000,
  '30d': 86_400_000,
};

/** One drawn bar. */
export interface Bar {
  start: number;
  success: number;
  failed: number;
  total: number;
}

/** Every bucket of `size` ms from `periodStart` to `now`, filled from `points` (matched by bucket start). */
export function fillBuckets(points: readonly TrendPoint[], size: number, periodStart: string, now: number): Bar[] {
  const byStart = new Map<number, TrendPoint>();
  for (const point of points) {
    const time = Date.parse(point.bucket);
    if (!Number.isNaN(time)) byStart.set(Math.floor(time / size) * size, point);
  }
  const from = Math.floor((Date.parse(periodStart) || now - size * 60) / size) * size;
  const bars: Bar[] = [];
  // A bound on the bar count protects the page from a nonsense periodStart.
  for (let start = from; start <= now && bars.length < 800; start += size) {
    const point = byStart.get(start);
    const success = point?.success ?? 0;
    const failed = point?.failed ?? 0;
    bars.push({ start, success, failed, total: point?.total ?? success + failed });
  }
  return bars;
}

/** A round axis maximum ≥ value: 1, 2, 5 × 10^n. */
export function niceMax(value: number): number {
  if (value <= 0) return 1;
  const exponent = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * exponent) return step * exponent;
  return 10 * exponent;
}

function label(time: number, period: Period): string {
  const date = new Date(time);
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (period === '1h' || period === '6h' || period === '24h')
    return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  if (period === '7d') return `${date.toLocaleDateString('en-US', { weekday: 'short' })} ${pad(date.getHours())}h`;
  return date.toLocaleDateString('en-US', { month: 'short', day: 'numeric' });
}

const WIDTH = 800;
const HEIGHT = 220;
const PAD = { top: 12, right: 12, bottom: 26, left: 44 };

export function TrendChart({
  points,
  period,
  periodStart,
  bucketMs,
  now,
}: {
  points: readonly TrendPoint[];
  period: Period;
  periodStart: string;
  /** Bucket width; the server's `granularityMs`, else the width API.md fixes for the period. */
  bucketMs?: number | undefined;
  now: number;
}): JSX.Element {
  const bars = fillBuckets(points, bucketMs && bucketMs > 0 ? bucketMs : BUCKET_MS[period], periodStart, now);
  const max = niceMax(Math.max(0, ...bars.map((bar) => bar.success + bar.failed)));
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotWidth / Math.max(1, bars.length);
  const barWidth = Math.max(1, slot * 0.8);
  const y = (value: number): number => PAD.top + plotHeight - (value / max) * plotHeight;
  const totals = bars.reduce((sum, bar) => ({ success: sum.success + bar.success, failed: sum.failed + bar.failed }), {
    success: 0,
    failed: 0,
  });
  const labelEvery = Math.max(1, Math.ceil(bars.length / 6));
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Executions over the last ${period}: ${formatCount(totals.success)} succeeded, ${formatCount(totals.failed)} failed.`}
      >
        {[0, 0.5, 1].map((fraction) => (
          <g key={fraction} class="chart-grid">
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(max * fraction)} y2={y(max * fraction)} />
            <text x={PAD.left - 6} y={y(max * fraction) + 4} text-anchor="end">
              {formatCount(max * fraction)}
            </text>
          </g>
        ))}
        {bars.map((bar, index) => {
          const x = PAD.left + index * slot + (slot - barWidth) / 2;
          const successTop = y(bar.success);
          const failedTop = y(bar.success + bar.failed);
          return (
            <g key={bar.start} class="chart-bar">
              <title>{`${new Date(bar.start).toLocaleString()}: ${formatCount(bar.success)} succeeded, ${formatCount(bar.failed)} failed`}</title>
              <rect class="chart-hit" x={PAD.left + index * slot} y={PAD.top} width={slot} height={plotHeight} />
              {bar.success > 0 && (
                <rect class="chart-success" x={x} y={successTop} width={barWidth} height={y(0) - successTop} />
              )}
              {bar.failed > 0 && (
                <rect class="chart-failed" x={x} y={failedTop} width={barWidth} height={successTop - failedTop} />
              )}
              {index % labelEvery === 0 && (
                <text class="chart-axis" x={x + barWidth / 2} y={HEIGHT - 8} text-anchor="middle">
                  {label(bar.start, period)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption class="legend">
        <span class="legend-item legend-success">Succeeded {formatCount(totals.success)}</span>
        <span class="legend-item legend-failed">Failed {formatCount(totals.failed)}</span>
      </figcaption>
    </figure>
  );
}
