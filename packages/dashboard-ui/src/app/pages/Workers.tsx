/** Workers: status, heartbeat age, active jobs and success rate of every worker the store knows. */
import type { JSX } from 'preact';
import { Badge, Empty, ErrorBanner, Loading, PageHeader, Table, Time } from '../components/ui';
import { formatAge, formatCount, formatDuration, formatPercent, preview } from '../format';
import { useApp, useNow, useResource } from '../hooks';
import { href } from '../router';
import type { WorkerList } from '../types';

export function WorkersPage(): JSX.Element {
  const { api } = useApp();
  const now = useNow(2000);
  const workers = useResource<WorkerList>(
    'workers',
    async (signal) => (await api.get<WorkerList>('/workers', {}, signal)).data,
    {
      live: (event) =>
        event.type.startsWith('worker.') ||
        event.type === 'job.started' ||
        event.type === 'job.completed' ||
        event.type === 'job.failed',
      minIntervalMs: 2000,
    },
  );
  const data = workers.data;
  return (
    <>
      <PageHeader
        title="Workers"
        subtitle={data ? `${formatCount(data.active)} active of ${formatCount(data.total)} known` : undefined}
      />
      {workers.error !== undefined && <ErrorBanner error={workers.error} onRetry={workers.reload} />}
      {!data && workers.error === undefined && <Loading />}
      {data && data.workers.length === 0 && (
        <Empty>
          No worker has reported yet. Start one with <code>new Worker(…)</code>.
        </Empty>
      )}
      {data && data.workers.length > 0 && (
        <Table label="Workers">
          <thead>
            <tr>
              <th scope="col">Worker</th>
              <th scope="col">Status</th>
              <th scope="col">Host</th>
              <th scope="col">Queues</th>
              <th scope="col" class="num">
                Active
              </th>
              <th scope="col" class="num">
                Executions
              </th>
              <th scope="col" class="num">
                Success
              </th>
              <th scope="col" class="num">
                Avg
              </th>
              <th scope="col" class="num">
                Heartbeat
              </th>
              <th scope="col">Started</th>
            </tr>
          </thead>
          <tbody>
            {data.workers.map((worker) => {
              const age = worker.lastSeenAt ? Math.max(0, now - Date.parse(worker.lastSeenAt)) : null;
              return (
                <tr key={worker.id}>
                  <th scope="row" class="mono" title={worker.id}>
                    {preview(worker.id, 36)}
                  </th>
                  <td>
                    <Badge value={worker.status} />
                  </td>
                  <td>
                    {preview(worker.host ?? '', 40)}
                    {worker.pid !== undefined && <span class="muted"> · pid {worker.pid}</span>}
                  </td>
                  <td>
                    {(worker.queues ?? []).map((queue, index) => (
                      <span key={queue}>
                        {index > 0 && ', '}
                        <a href={href(['queues', queue])}>{preview(queue, 32)}</a>
                      </span>
                    ))}
                  </td>
                  <td class="num">
                    {formatCount(worker.activeJobs ?? 0)}
                    {worker.concurrency !== undefined && (
                      <span class="muted"> / {formatCount(worker.concurrency)}</span>
                    )}
                  </td>
                  <td class="num">{formatCount(worker.executions)}</td>
                  <td class="num">{formatPercent(worker.successRate)}</td>
                  <td class="num">{formatDuration(worker.avgDurationMs)}</td>
                  <td class="num" title={worker.lastSeenAt}>
                    {age === null ? '—' : `${formatAge(age)} ago`}
                  </td>
                  <td>
                    <Time iso={worker.startedAt} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </Table>
      )}
    </>
  );
}
