/** Queues: one row per queue with its counts, rates and actions. */
import type { JSX } from 'preact';
import { QueueActions } from '../components/QueueActions';
import { Badge, Empty, ErrorBanner, Loading, PageHeader, Table } from '../components/ui';
import { formatAge, formatCount, formatDuration, formatPercent } from '../format';
import { useApp, useResource } from '../hooks';
import { href } from '../router';
import { JOB_STATES, type QueueSummary } from '../types';

/** Events that change what the queue table shows. */
export const queueEvent = (event: { type: string }): boolean => event.type !== 'job.progress';

export function QueuesPage(): JSX.Element {
  const { api, readOnly } = useApp();
  const queues = useResource<QueueSummary[]>(
    'queues',
    async (signal) => (await api.get<QueueSummary[]>('/queues', {}, signal)).data,
    { live: queueEvent },
  );
  return (
    <>
      <PageHeader title="Queues" subtitle={queues.data ? `${formatCount(queues.data.length)} queues` : undefined} />
      {queues.error !== undefined && <ErrorBanner error={queues.error} onRetry={queues.reload} />}
      {!queues.data && queues.error === undefined && <Loading />}
      {queues.data && queues.data.length === 0 && <Empty>No queues yet: they appear with their first job.</Empty>}
      {queues.data && queues.data.length > 0 && (
        <Table label="Queues">
          <thead>
            <tr>
              <th scope="col">Queue</th>
              {JOB_STATES.map((state) => (
                <th scope="col" class="num" key={state}>
                  {state}
                </th>
              ))}
              <th scope="col" class="num" title="Finished executions per minute, last 5 minutes">
                /min
              </th>
              <th scope="col" class="num">
                Avg
              </th>
              <th scope="col" class="num" title="Age of the oldest waiting job">
                Latency
              </th>
              <th scope="col" class="num" title="Active jobs ÷ concurrency of live workers">
                Saturation
              </th>
              {!readOnly && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {queues.data.map((queue) => (
              <tr key={queue.name}>
                <th scope="row">
                  <a href={href(['queues', queue.name])}>{queue.name}</a> {queue.paused && <Badge value="paused" />}
                </th>
                {JOB_STATES.map((state) => (
                  <td class="num" key={state}>
                    {(queue.counts[state] ?? 0) > 0 ? (
                      <a href={href(['jobs'], { queue: queue.name, state })} class={`count count-${state}`}>
                        {formatCount(queue.counts[state])}
                      </a>
                    ) : (
                      <span class="muted">0</span>
                    )}
                  </td>
                ))}
                <td class="num">{formatCount(queue.throughputPerMinute)}</td>
                <td class="num">{formatDuration(queue.avgDurationMs)}</td>
                <td class="num">{queue.oldestWaitingAgeMs == null ? '—' : formatAge(queue.oldestWaitingAgeMs)}</td>
                <td class="num">{formatPercent(queue.saturation)}</td>
                {!readOnly && (
                  <td>
                    <QueueActions queue={queue} onChanged={queues.reload} />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </>
  );
}
