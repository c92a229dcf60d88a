/** Overview: counts by state, headline rates, the throughput chart and percentiles for a chosen period. */
import type { JSX } from 'preact';
import { TrendChart } from '../components/TrendChart';
import { Badge, Empty, ErrorBanner, Loading, PageHeader, Section, Stat, Table } from '../components/ui';
import { formatAge, formatCount, formatDuration, formatPercent } from '../format';
import { useApp, useResource } from '../hooks';
import { href, navigate } from '../router';
import { JOB_STATES, type Overview, PERIODS, type Period, type Stats } from '../types';

const PERIOD_LABEL: Record<Period, string> = {
  '1h': '1 hour',
  '6h': '6 hours',
  '24h': '24 hours',
  '7d': '7 days',
  '30d': '30 days',
};

function isPeriod(value: string | null): value is Period {
  return value !== null && (PERIODS as readonly string[]).includes(value);
}

export function OverviewPage({ params }: { params: URLSearchParams }): JSX.Element {
  const { api } = useApp();
  const requested = params.get('period');
  const period: Period = isPeriod(requested) ? requested : '24h';
  const overview = useResource<Overview>(
    'overview',
    async (signal) => (await api.get<Overview>('/overview', {}, signal)).data,
    {
      live: (event) => !event.type.startsWith('job.progress'),
    },
  );
  const stats = useResource<Stats>(
    `stats:${period}`,
    async (signal) => (await api.get<Stats>('/stats', { period }, signal)).data,
    // The stats aggregate a whole period: refreshing them more than every few seconds shows nothing new.
    {
      live: (event) => ['job.completed', 'job.failed', 'job.retrying', 'job.enqueued'].includes(event.type),
      keepPrevious: true,
      minIntervalMs: 5000,
    },
  );

  const data = overview.data;
  return (
    <>
      <PageHeader
        title="Overview"
        subtitle={
          data ? (
            <>
              Health: <Badge value={data.health} />
            </>
          ) : undefined
        }
      />
      {overview.error !== undefined && <ErrorBanner error={overview.error} onRetry={overview.reload} />}
      {!data && overview.error === undefined && <Loading />}
      {data && (
        <>
          <section class="stats-grid states" aria-label="Jobs by state">
            {JOB_STATES.map((state) => (
              <Stat
                key={state}
                label={state}
                value={formatCount(data.totals[state] ?? 0)}
                href={href(['jobs'], { state })}
                tone={state}
              />
            ))}
          </section>
          <div class="stats-grid">
            <Stat
              label="Throughput"
              value={`${formatCount(data.throughput.lastMinute)}/min`}
              hint={`${formatCount(data.throughput.lastHour)} in the last hour`}
            />
            <Stat
              label="Success rate (24 h)"
              value={formatPercent(data.successRate)}
              hint={data.executions24h !== undefined ? `${formatCount(data.executions24h)} executions` : undefined}
            />
            <Stat label="Avg duration (24 h)" value={formatDuration(data.avgDurationMs)} />
            <Stat
              label="Oldest waiting"
              value={data.oldestWaitingAgeMs === null ? '—' : formatAge(data.oldestWaitingAgeMs)}
              hint="age of the next job in line"
            />
            <Stat label="Queues" value={formatCount(data.queues)} href="#/queues" />
            <Stat
              label="Workers"
              value={`${formatCount(data.workers.active)} / ${formatCount(data.workers.total)}`}
              hint="active / known"
              href="#/workers"
            />
          </div>
        </>
      )}
      <Section
        title="Trend"
        aside={
          <fieldset class="segmented">
            <legend class="sr-only">Period</legend>
            {PERIODS.map((option) => (
              <button
                key={option}
                type="button"
                class="segment"
                aria-pressed={option === period}
                title={`Last ${PERIOD_LABEL[option]}`}
                onClick={() => navigate(href([], { period: option }), true)}
              >
                {option}
              </button>
            ))}
          </fieldset>
        }
      >
        {stats.error !== undefined && <ErrorBanner error={stats.error} onRetry={stats.reload} />}
        {!stats.data && stats.error === undefined && <Loading />}
        {stats.data && <StatsBody stats={stats.data} />}
      </Section>
    </>
  );
}

function StatsBody({ stats }: { stats: Stats }): JSX.Element {
  const executions = stats.executions;
  const byType = [...(stats.executionsByType ?? [])].sort((a, b) => (b.total ?? 0) - (a.total ?? 0)).slice(0, 20);
  return (
    <>
      <div class="stats-grid compact">
        <Stat
          label="Executions"
          value={formatCount(executions.total)}
          hint={`${formatCount(executions.retries)} retried`}
        />
        <Stat
          label="Success rate"
          value={formatPercent(executions.successRate)}
          tone={executions.successRate !== null && executions.successRate < 0.9 ? 'failed' : undefined}
        />
        <Stat label="Failed" value={formatCount(executions.failed)} />
        <Stat label="Timed out" value={formatCount(executions.timeout)} />
        <Stat label="Stalled" value={formatCount(executions.stalled)} />
        <Stat label="p50" value={formatDuration(executions.p50Ms)} />
        <Stat label="p95" value={formatDuration(executions.p95Ms)} />
        <Stat label="p99" value={formatDuration(executions.p99Ms)} />
        <Stat label="Max" value={formatDuration(executions.maxDurationMs)} />
      </div>
      <TrendChart
        points={stats.trend}
        period={stats.period}
        periodStart={stats.periodStart}
        bucketMs={stats.granularityMs}
        now={Date.now()}
      />
      <h3>By job type</h3>
      {byType.length === 0 ? (
        <Empty>No executions in this period.</Empty>
      ) : (
        <Table label="Executions by job type">
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col" class="num">
                Enqueued
              </th>
              <th scope="col" class="num">
                Executions
              </th>
              <th scope="col" class="num">
                Failed
              </th>
              <th scope="col" class="num">
                Success rate
              </th>
              <th scope="col" class="num">
                Avg
              </th>
              <th scope="col" class="num">
                p95
              </th>
            </tr>
          </thead>
          <tbody>
            {byType.map((row) => (
              <tr key={row.type}>
                <td>
                  <a href={href(['jobs'], { type: row.type })}>{row.type}</a>
                </td>
                <td class="num">{formatCount(row.enqueued)}</td>
                <td class="num">{formatCount(row.total)}</td>
                <td class="num">{formatCount(row.failed)}</td>
                <td class="num">{formatPercent(row.successRate)}</td>
                <td class="num">{formatDuration(row.avgDurationMs)}</td>
                <td class="num">{formatDuration(row.p95Ms)}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </>
  );
}
