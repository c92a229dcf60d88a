/** Recent executions across every job, filtered by queue, type and status. */
import type { JSX } from 'preact';
import { Badge, Empty, ErrorBanner, Loading, PageHeader, Table, Time } from '../components/ui';
import { formatDuration, preview } from '../format';
import { useApp, useResource } from '../hooks';
import { href, navigate } from '../router';
import { EXECUTION_STATUSES, type Execution, type ExecutionStatus, type QueueSummary } from '../types';

function isStatus(value: string | null): value is ExecutionStatus {
  return value !== null && (EXECUTION_STATUSES as readonly string[]).includes(value);
}

export function ExecutionsPage({ params }: { params: URLSearchParams }): JSX.Element {
  const { api } = useApp();
  const statusParam = params.get('status');
  const status = isStatus(statusParam) ? statusParam : null;
  const queue = params.get('queue') || null;
  const type = params.get('type') || null;
  const setFilter = (changes: Record<string, string | null>): void =>
    navigate(href(['executions'], { status, queue, type, ...changes }), true);
  const queues = useResource<QueueSummary[]>(
    'executions:queues',
    async (signal) => (await api.get<QueueSummary[]>('/queues', {}, signal)).data,
    { live: false },
  );
  const executions = useResource<Execution[]>(
    `executions:${status}:${queue}:${type}`,
    async (signal) => (await api.get<Execution[]>('/logs/recent', { status, queue, type, limit: 100 }, signal)).data,
    {
      keepPrevious: true,
      live: (event) =>
        ['job.completed', 'job.failed', 'job.retrying', 'job.cancelled'].includes(event.type) &&
        (!queue || event.queue === queue),
    },
  );
  return (
    <>
      <PageHeader title="Recent executions" subtitle="The latest 100 attempts, newest first" />
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Status
          <select value={status ?? ''} onChange={(event) => setFilter({ status: event.currentTarget.value || null })}>
            <option value="">Any status</option>
            {EXECUTION_STATUSES.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Queue
          <select value={queue ?? ''} onChange={(event) => setFilter({ queue: event.currentTarget.value || null })}>
            <option value="">All queues</option>
            {(queues.data ?? []).map((summary) => (
              <option key={summary.name} value={summary.name}>
                {summary.name}
              </option>
            ))}
            {queue && !queues.data?.some((summary) => summary.name === queue) && <option value={queue}>{queue}</option>}
          </select>
        </label>
        {type && (
          <span class="chip">
            type: {preview(type, 40)}{' '}
            <button
              type="button"
              class="chip-close"
              aria-label="Remove the type filter"
              onClick={() => setFilter({ type: null })}
            >
              ×
            </button>
          </span>
        )}
      </form>
      {executions.error !== undefined && <ErrorBanner error={executions.error} onRetry={executions.reload} />}
      {!executions.data && executions.error === undefined && <Loading />}
      {executions.data && executions.data.length === 0 && <Empty>No executions match.</Empty>}
      {executions.data && executions.data.length > 0 && (
        <Table label="Recent executions">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Status</th>
              <th scope="col">Job</th>
              <th scope="col">Type</th>
              <th scope="col">Queue</th>
              <th scope="col" class="num">
                Attempt
              </th>
              <th scope="col" class="num">
                Duration
              </th>
              <th scope="col">Worker</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody aria-busy={executions.loading}>
            {executions.data.map((execution) => (
              <tr key={execution.id}>
                <td>
                  <Time iso={execution.startedAt} />
                </td>
                <td>
                  <Badge value={execution.status} />
                </td>
                <td class="mono">
                  {execution.jobId ? (
                    <a href={href(['jobs', execution.jobId])} title={execution.jobId}>
                      {preview(execution.jobId, 14)}
                    </a>
                  ) : (
                    '—'
                  )}
                </td>
                <td>
                  {execution.type ? (
                    <a href={href(['executions'], { status, queue, type: execution.type })} title={execution.type}>
                      <span class="clip">{preview(execution.type, 64)}</span>
                    </a>
                  ) : (
                    '—'
                  )}
                </td>
                <td>
                  {execution.queue ? (
                    <a href={href(['queues', execution.queue])}>{preview(execution.queue, 32)}</a>
                  ) : (
                    '—'
                  )}
                </td>
                <td class="num">
                  {execution.attempt}
                  {execution.isRetry && (
                    <span class="muted" title="A retry of an earlier failed attempt">
                      {' '}
                      ↻
                    </span>
                  )}
                </td>
                <td class="num">{formatDuration(execution.durationMs)}</td>
                <td class="mono" title={execution.workerId ?? undefined}>
                  {execution.workerId ? preview(execution.workerId, 24) : '—'}
                </td>
                <td class="error-cell" title={execution.error ? preview(execution.error.message, 500) : undefined}>
                  <span class="clip">{execution.error ? preview(execution.error.message, 120) : ''}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </>
  );
}
