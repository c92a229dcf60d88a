/** A job's attempts, newest first, from `/api/jobs/:id/logs`, with each attempt's error; older pages on demand. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { describeError } from '../api';
import { formatCount, formatDuration, formatPercent, preview, toDisplayText } from '../format';
import { useApp, useResource } from '../hooks';
import type { Execution, ExecutionSummary } from '../types';
import { ErrorDetails } from './ErrorDetails';
import { TruncatedText } from './TruncatedText';
import { Badge, Empty, ErrorBanner, Loading, Section, Time } from './ui';

const PAGE = 20;

interface LogPage {
  items: Execution[];
  nextCursor: string | null;
}

export function Timeline({ jobId, path }: { jobId: string; path: string }): JSX.Element {
  const { api } = useApp();
  const [older, setOlder] = useState<LogPage[]>([]);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [olderError, setOlderError] = useState<unknown>(undefined);
  const live = (event: { jobId?: string; type: string }): boolean =>
    event.jobId === jobId && event.type !== 'job.progress' && event.type !== 'job.deleted';
  const first = useResource<LogPage>(
    `logs:${jobId}`,
    async (signal) => {
      const answer = await api.get<Execution[]>(`${path}/logs`, { limit: PAGE }, signal);
      return { items: answer.data, nextCursor: answer.meta.nextCursor ?? null };
    },
    { live },
  );
  const summary = useResource<ExecutionSummary>(
    `logs-summary:${jobId}`,
    async (signal) => (await api.get<ExecutionSummary>(`${path}/logs/summary`, {}, signal)).data,
    { live },
  );
  const pages = first.data ? [first.data, ...older] : [];
  const seen = new Set<string>();
  const executions: Execution[] = [];
  for (const page of pages) {
    for (const execution of page.items) {
      if (seen.has(execution.id)) continue;
      seen.add(execution.id);
      executions.push(execution);
    }
  }
  executions.sort((a, b) => b.attempt - a.attempt || Date.parse(b.startedAt) - Date.parse(a.startedAt));
  const nextCursor = pages[pages.length - 1]?.nextCursor ?? null;

  const loadOlder = async (): Promise<void> => {
    if (!nextCursor || loadingOlder) return;
    setLoadingOlder(true);
    setOlderError(undefined);
    try {
      const answer = await api.get<Execution[]>(`${path}/logs`, { limit: PAGE, cursor: nextCursor });
      setOlder((list) => [...list, { items: answer.data, nextCursor: answer.meta.nextCursor ?? null }]);
    } catch (error) {
      setOlderError(error);
    } finally {
      setLoadingOlder(false);
    }
  };

  const s = summary.data;
  return (
    <Section
      title="Attempts"
      aside={
        s && (
          <span class="muted">
            {formatCount(s.totalExecutions)} {s.totalExecutions === 1 ? 'execution' : 'executions'} ·{' '}
            {formatPercent(s.successRate)} succeeded · avg {formatDuration(s.avgDurationMs)}
          </span>
        )
      }
    >
      {first.error !== undefined && <ErrorBanner error={first.error} onRetry={first.reload} />}
      {!first.data && first.error === undefined && <Loading />}
      {first.data && executions.length === 0 && <Empty>No attempt has run yet.</Empty>}
      {executions.length > 0 && (
        <ol class="timeline" aria-label="Attempts, newest first">
          {executions.map((execution) => (
            <li key={execution.id} class={`timeline-item timeline-${execution.status}`}>
              <div class="timeline-head">
                <strong>Attempt {execution.attempt}</strong>
                <Badge value={execution.status} />
                <span class="muted">
                  <Time iso={execution.startedAt} /> · {formatDuration(execution.durationMs)}
                  {execution.workerId ? ` · ${preview(execution.workerId, 40)}` : ''}
                </span>
              </div>
              {execution.error && <ErrorDetails error={execution.error} />}
              {execution.result != null && execution.status === 'success' && (
                <details>
                  <summary>Result</summary>
                  <TruncatedText
                    text={toDisplayText(execution.result)}
                    label={`Result of attempt ${execution.attempt}`}
                    lines={20}
                  />
                </details>
              )}
            </li>
          ))}
        </ol>
      )}
      {nextCursor && (
        <div class="pager">
          <button type="button" class="btn btn-small" disabled={loadingOlder} onClick={() => void loadOlder()}>
            {loadingOlder ? 'Loading…' : 'Load older attempts'}
          </button>
          {olderError !== undefined && <span class="error-text">{describeError(olderError)}</span>}
        </div>
      )}
    </Section>
  );
}
