/** One queue: its counters, actions and the job types seen in it. */
import type { JSX } from 'preact';
import { QueueActions } from '../components/QueueActions';
import { Badge, Empty, ErrorBanner, Loading, PageHeader, Section, Stat, Table } from '../components/ui';
import { formatAge, formatCount, formatDuration, formatPercent } from '../format';
import { useApp, useResource } from '../hooks';
import { href } from '../router';
import { JOB_STATES, type QueueSummary } from '../types';

export function QueueDetailPage({ name }: { name: string }): JSX.Element {
  const { api } = useApp();
  const queue = useResource<QueueSummary>(
    `queue:${name}`,
    async (signal) => (await api.get<QueueSummary>(`/queues/${encodeURIComponent(name)}`, {}, signal)).data,
    { live: (event) => event.type !== 'job.progress' && (event.queue === undefined || event.queue === name) },
  );
  const data = queue.data;
  return (
    <>
      <p class="breadcrumbs">
        <a href="#/queues">Queues</a> / <span>{name}</span>
      </p>
      <PageHeader title={name} subtitle={data?.paused ? <Badge value="paused" /> : undefined}>
        {data && <QueueActions queue={data} onChanged={queue.reload} />}
      </PageHeader>
      {queue.error !== undefined && <ErrorBanner error={queue.error} onRetry={queue.reload} />}
      {!data && queue.error === undefined && <Loading />}
      {data && (
        <>
          <div class="stats-grid states">
            {JOB_STATES.map((state) => (
              <Stat
                key={state}
                label={state}
                value={formatCount(data.counts[state] ?? 0)}
                href={href(['jobs'], { queue: name, state })}
                tone={state}
              />
            ))}
          </div>
          <div class="stats-grid compact">
            <Stat label="Throughput" value={`${formatCount(data.throughputPerMinute)}/min`} />
            <Stat label="Avg duration" value={formatDuration(data.avgDurationMs)} />
            <Stat
              label="Oldest waiting"
              value={data.oldestWaitingAgeMs == null ? '—' : formatAge(data.oldestWaitingAgeMs)}
            />
            <Stat
              label="Saturation"
              value={formatPercent(data.saturation)}
              hint={data.workers !== undefined ? `${formatCount(data.workers)} live workers` : undefined}
            />
          </div>
          <Section title="Job types">
            {!data.types || data.types.length === 0 ? (
              <Empty>No job types seen in this queue yet.</Empty>
            ) : (
              <Table label={`Job types of ${name}`}>
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
                  {data.types.map((type) => (
                    <tr key={type.type}>
                      <td>
                        <a href={href(['jobs'], { queue: name, type: type.type })}>{type.type}</a>
                      </td>
                      <td class="num">{formatCount(type.enqueued)}</td>
                      <td class="num">{formatCount(type.total)}</td>
                      <td class="num">{formatCount(type.failed)}</td>
                      <td class="num">{formatPercent(type.successRate)}</td>
                      <td class="num">{formatDuration(type.avgDurationMs)}</td>
                      <td class="num">{formatDuration(type.p95Ms)}</td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            )}
          </Section>
        </>
      )}
    </>
  );
}
