/** Jobs: filtered by state, queue, type and (where the backend supports it) text search, paged by cursor. */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useAction } from '../actions';
import { ApiError } from '../api';
import { Badge, Empty, ErrorBanner, Loading, PageHeader, Table, Time } from '../components/ui';
import { formatCount, formatDuration, preview } from '../format';
import { useApp, useResource } from '../hooks';
import { href, navigate } from '../router';
import { JOB_STATES, type Job, type JobState, type ListMeta, type QueueSummary } from '../types';

const PAGE_SIZE = 25;

/** Whether `q` works on this server: unknown until the first probe, then remembered for the page's life. */
let searchSupported: boolean | undefined;

interface JobsPageData {
  jobs: Job[];
  meta: ListMeta;
}

function isState(value: string | null): value is JobState {
  return value !== null && (JOB_STATES as readonly string[]).includes(value);
}

export function JobsPage({ params }: { params: URLSearchParams }): JSX.Element {
  const { api, readOnly } = useApp();
  const stateParam = params.get('state');
  const state = isState(stateParam) ? stateParam : null;
  const queue = params.get('queue') || null;
  const type = params.get('type') || null;
  const q = params.get('q') || null;
  const filterKey = JSON.stringify([state, queue, type, q]);
  const [cursors, setCursors] = useState<string[]>([]);
  const [search, setSearch] = useState<boolean | undefined>(searchSupported);
  useEffect(() => setCursors([]), [filterKey]);
  const cursor = cursors[cursors.length - 1] ?? null;

  const setFilter = (changes: Record<string, string | null>): void => {
    const next: Record<string, string | null> = { state, queue, type, q, ...changes };
    navigate(href(['jobs'], next), true);
  };

  useEffect(() => {
    if (searchSupported !== undefined) return;
    const abort = new AbortController();
    api.get('/jobs', { q: 'conveyor-search-probe', limit: 1 }, abort.signal).then(
      () => {
        searchSupported = true;
        setSearch(true);
      },
      (error: unknown) => {
        if (error instanceof ApiError && error.code === 'SEARCH_UNSUPPORTED') {
          searchSupported = false;
          setSearch(false);
        }
      },
    );
    return () => abort.abort();
  }, [api]);

  const queues = useResource<QueueSummary[]>(
    'jobs:queues',
    async (signal) => (await api.get<QueueSummary[]>('/queues', {}, signal)).data,
    { live: (event) => event.type !== 'job.progress', minIntervalMs: 3000 },
  );
  const jobs = useResource<JobsPageData>(
    `jobs:${filterKey}:${cursor ?? ''}`,
    async (signal) => {
      const answer = await api.get<Job[]>(
        '/jobs',
        { state, queue, type, q: search === false ? null : q, limit: PAGE_SIZE, cursor },
        signal,
      );
      return { jobs: answer.data, meta: answer.meta };
    },
    {
      keepPrevious: true,
      live: (event) =>
        event.type.startsWith('job.') && event.type !== 'job.progress' && (!queue || event.queue === queue),
    },
  );

  const counts: Partial<Record<JobState, number>> = {};
  for (const summary of queues.data ?? []) {
    if (queue && summary.name !== queue) continue;
    for (const name of JOB_STATES) counts[name] = (counts[name] ?? 0) + (summary.counts[name] ?? 0);
  }
  const searchUnsupported =
    search === false || (jobs.error instanceof ApiError && jobs.error.code === 'SEARCH_UNSUPPORTED');

  return (
    <>
      <PageHeader title="Jobs" subtitle={queue ? `in ${queue}` : 'in every queue'} />
      <nav class="tabs" aria-label="Job state">
        <a href={href(['jobs'], { queue, type, q })} aria-current={state === null ? 'page' : undefined}>
          all
        </a>
        {JOB_STATES.map((name) => (
          <a
            key={name}
            href={href(['jobs'], { state: name, queue, type, q })}
            aria-current={state === name ? 'page' : undefined}
          >
            {name}
            {queues.data && <span class="tab-count">{formatCount(counts[name] ?? 0)}</span>}
          </a>
        ))}
      </nav>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
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
        <DebouncedInput
          label="Type"
          value={type ?? ''}
          placeholder="any type"
          onCommit={(value) => setFilter({ type: value || null })}
        />
        {!searchUnsupported && (
          <DebouncedInput
            label="Search"
            value={q ?? ''}
            placeholder="id, type or payload text"
            type="search"
            onCommit={(value) => setFilter({ q: value || null })}
          />
        )}
        {(queue || type || q) && (
          <button
            type="button"
            class="btn btn-small btn-ghost"
            onClick={() => setFilter({ queue: null, type: null, q: null })}
          >
            Clear filters
          </button>
        )}
      </form>
      {searchUnsupported && q && (
        <p class="note">This backend cannot search job text cheaply, so the search was ignored.</p>
      )}
      {jobs.error !== undefined && !(jobs.error instanceof ApiError && jobs.error.code === 'SEARCH_UNSUPPORTED') && (
        <ErrorBanner error={jobs.error} onRetry={jobs.reload} />
      )}
      {!jobs.data && jobs.error === undefined && <Loading />}
      {jobs.data && jobs.data.jobs.length === 0 && <Empty>No jobs match.</Empty>}
      {jobs.data && jobs.data.jobs.length > 0 && (
        <JobTable jobs={jobs.data.jobs} showActions={!readOnly} onChanged={jobs.reload} busy={jobs.loading} />
      )}
      {jobs.data && (cursors.length > 0 || jobs.data.meta.nextCursor) && (
        <div class="pager">
          <button type="button" class="btn btn-small" disabled={cursors.length === 0} onClick={() => setCursors([])}>
            First page
          </button>
          <button
            type="button"
            class="btn btn-small"
            disabled={cursors.length === 0}
            onClick={() => setCursors(cursors.slice(0, -1))}
          >
            ← Newer
          </button>
          <span class="muted">Page {cursors.length + 1}</span>
          <button
            type="button"
            class="btn btn-small"
            disabled={!jobs.data.meta.nextCursor}
            onClick={() => jobs.data?.meta.nextCursor && setCursors([...cursors, jobs.data.meta.nextCursor])}
          >
            Older →
          </button>
        </div>
      )}
    </>
  );
}

/** A text filter that applies 400 ms after typing stops, or on Enter. */
function DebouncedInput({
  label,
  value,
  placeholder,
  type = 'text',
  onCommit,
}: {
  label: string;
  value: string;
  placeholder: string;
  type?: string;
  onCommit: (value: string) => void;
}): JSX.Element {
  const [draft, setDraft] = useState(value);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => setDraft(value), [value]);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const commit = (next: string): void => {
    window.clearTimeout(timer.current);
    if (next.trim() !== value) onCommit(next.trim());
  };
  return (
    <label>
      {label}
      <input
        type={type}
        value={draft}
        placeholder={placeholder}
        maxLength={200}
        onInput={(event) => {
          const next = event.currentTarget.value;
          setDraft(next);
          window.clearTimeout(timer.current);
          timer.current = window.setTimeout(() => commit(next), 400);
        }}
        onKeyDown={(event) => {
          if (event.key === 'Enter') commit(event.currentTarget.value);
        }}
      />
    </label>
  );
}

/** The jobs table, also used by nothing else yet but kept apart from the filters for clarity. */
function JobTable({
  jobs,
  showActions,
  onChanged,
  busy,
}: {
  jobs: Job[];
  showActions: boolean;
  onChanged: () => void;
  busy: boolean;
}): JSX.Element {
  const { api } = useApp();
  const [perform, acting] = useAction();
  return (
    <Table label="Jobs">
      <thead>
        <tr>
          <th scope="col">Job</th>
          <th scope="col">Type</th>
          <th scope="col">Queue</th>
          <th scope="col">State</th>
          <th scope="col" class="num">
            Attempts
          </th>
          <th scope="col">Created</th>
          <th scope="col" class="num">
            Duration
          </th>
          <th scope="col">Last error</th>
          {showActions && (
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          )}
        </tr>
      </thead>
      <tbody aria-busy={busy}>
        {jobs.map((job) => (
          <tr key={job.id} data-job-id={job.id}>
            <td class="mono">
              <a href={href(['jobs', job.id])} title={job.id}>
                {preview(job.id, 24)}
              </a>
            </td>
            <td title={job.type}>
              <span class="clip">{preview(job.type, 64)}</span>
            </td>
            <td>
              <a href={href(['queues', job.queue])}>{preview(job.queue, 32)}</a>
            </td>
            <td>
              <Badge value={job.state} />
            </td>
            <td class="num">
              {job.attempt ?? 0}/{job.maxAttempts ?? '—'}
            </td>
            <td>
              <Time iso={job.createdAt} />
            </td>
            <td class="num">{formatDuration(job.durationMs)}</td>
            <td class="error-cell" title={job.lastError ? preview(job.lastError.message, 500) : undefined}>
              <span class="clip">{job.lastError ? preview(job.lastError.message, 120) : ''}</span>
            </td>
            {showActions && (
              <td>
                {(job.state === 'failed' || job.state === 'cancelled') && (
                  <button
                    type="button"
                    class="btn btn-small"
                    disabled={acting}
                    aria-label={`Retry job ${job.id}`}
                    onClick={() =>
                      perform({
                        run: () => api.post(`/jobs/${encodeURIComponent(job.id)}/retry`),
                        success: () => `Job ${preview(job.id, 24)} queued again.`,
                        onDone: onChanged,
                      })
                    }
                  >
                    Retry
                  </button>
                )}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
