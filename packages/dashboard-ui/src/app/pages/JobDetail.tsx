/** One job: its fields, payload, result, options, last error and the timeline of its attempts. */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { useAction } from '../actions';
import { ApiError } from '../api';
import { ErrorDetails } from '../components/ErrorDetails';
import { Timeline } from '../components/Timeline';
import { TruncatedText } from '../components/TruncatedText';
import { Badge, ErrorBanner, Fields, Loading, PageHeader, Section, Time } from '../components/ui';
import { formatDuration, preview, toDisplayText } from '../format';
import { useApp, useResource } from '../hooks';
import { href, navigate } from '../router';
import type { Job } from '../types';

export function JobDetailPage({ id }: { id: string }): JSX.Element {
  const { api, live } = useApp();
  const path = `/jobs/${encodeURIComponent(id)}`;
  // Once the job is deleted (here or elsewhere) nothing about it is fetched again: there is nothing left to show.
  const [deleted, setDeleted] = useState(false);
  useEffect(
    () =>
      live.subscribe((signal) => {
        if (signal.kind === 'event' && signal.event.type === 'job.deleted' && signal.event.jobId === id)
          setDeleted(true);
      }),
    [live, id],
  );
  const job = useResource<Job>(`job:${id}`, async (signal) => (await api.get<Job>(path, {}, signal)).data, {
    live: (event) => event.jobId === id && event.type !== 'job.deleted',
  });
  const notFound = deleted || (job.error instanceof ApiError && job.error.status === 404);
  const data = job.data;
  return (
    <>
      <p class="breadcrumbs">
        <a href="#/jobs">Jobs</a> / <span class="mono">{preview(id, 64)}</span>
      </p>
      {notFound ? (
        <div class="banner" role="alert">
          Job <span class="mono">{preview(id, 64)}</span>{' '}
          {deleted ? 'was deleted' : 'does not exist: it may have been deleted or removed by retention'}.{' '}
          <a href="#/jobs">Back to jobs</a>
        </div>
      ) : (
        job.error !== undefined && <ErrorBanner error={job.error} onRetry={job.reload} />
      )}
      {!data && job.error === undefined && <Loading />}
      {data && !deleted && <JobBody job={data} path={path} reload={job.reload} />}
    </>
  );
}

function JobBody({ job, path, reload }: { job: Job; path: string; reload: () => void }): JSX.Element {
  const payloadText = useMemo(() => toDisplayText(job.payload), [job.payload]);
  const resultText = useMemo(() => (job.result == null ? '' : toDisplayText(job.result)), [job.result]);
  const optionsText = useMemo(() => (job.options ? toDisplayText(job.options) : ''), [job.options]);
  const progressText = useMemo(() => (job.progress == null ? '' : toDisplayText(job.progress)), [job.progress]);
  const safeName = job.id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  return (
    <>
      <PageHeader
        title={
          <>
            <span class="mono title-id" title={job.id}>
              {preview(job.id, 64)}
            </span>{' '}
            <Badge value={job.state} />
          </>
        }
        subtitle={
          <>
            <span title={job.type}>{preview(job.type, 120)}</span> in{' '}
            <a href={href(['queues', job.queue])}>{job.queue}</a>
          </>
        }
      >
        <JobActions job={job} path={path} reload={reload} />
      </PageHeader>
      <Fields
        items={[
          ['State', <Badge key="s" value={job.state} />],
          ['Attempts', `${job.attempt ?? 0} of ${job.maxAttempts ?? '—'}`],
          ['Priority', String(job.priority ?? 0)],
          ['Created', <Time key="c" iso={job.createdAt} />],
          ['Run at', <Time key="r" iso={job.runAt} />],
          ['Started', <Time key="st" iso={job.startedAt} />],
          ['Finished', <Time key="f" iso={job.finishedAt} />],
          ['Duration', formatDuration(job.durationMs)],
          [
            'Worker',
            job.workerId ? (
              <span class="mono" key="w">
                {preview(job.workerId, 60)}
              </span>
            ) : (
              '—'
            ),
          ],
          ['Progress', progressText ? preview(progressText, 60) : '—'],
        ]}
      />
      {job.lastError && (
        <Section title="Last error">
          <ErrorDetails error={job.lastError} open />
        </Section>
      )}
      <Section title="Payload">
        <TruncatedText text={payloadText} label="Payload" filename={`${safeName}-payload.json`} />
      </Section>
      {resultText && (
        <Section title="Result">
          <TruncatedText text={resultText} label="Result" filename={`${safeName}-result.json`} />
        </Section>
      )}
      {optionsText && (
        <Section title="Options">
          <TruncatedText text={optionsText} label="Options" lines={30} />
        </Section>
      )}
      <Timeline jobId={job.id} path={path} />
    </>
  );
}

function JobActions({ job, path, reload }: { job: Job; path: string; reload: () => void }): JSX.Element | null {
  const { api, readOnly } = useApp();
  const [perform, busy] = useAction();
  if (readOnly) return null;
  const short = preview(job.id, 24);
  const canRetry = job.state === 'failed' || job.state === 'cancelled';
  const canPromote = job.state === 'scheduled' || job.state === 'retrying';
  const canCancel =
    job.state === 'waiting' || job.state === 'scheduled' || job.state === 'retrying' || job.state === 'active';
  const canDelete = job.state !== 'active';
  return (
    <>
      {canRetry && (
        <button
          type="button"
          class="btn btn-primary"
          disabled={busy}
          onClick={() =>
            perform({
              run: () => api.post(`${path}/retry`),
              success: () => `Job ${short} queued again.`,
              onDone: reload,
            })
          }
        >
          Retry
        </button>
      )}
      {canPromote && (
        <button
          type="button"
          class="btn"
          disabled={busy}
          onClick={() =>
            perform({ run: () => api.post(`${path}/promote`), success: () => `Job ${short} runs now.`, onDone: reload })
          }
        >
          Run now
        </button>
      )}
      {canCancel && (
        <button
          type="button"
          class="btn btn-ghost-danger"
          disabled={busy}
          onClick={() =>
            perform({
              confirm: {
                title: 'Cancel this job?',
                message:
                  job.state === 'active'
                    ? `Job ${short} is running; its handler is asked to stop through its AbortSignal.`
                    : `Job ${short} will not run. You can retry it later.`,
                confirmLabel: 'Cancel job',
              },
              run: () => api.post(`${path}/cancel`),
              success: () => `Job ${short} cancelled.`,
              onDone: reload,
            })
          }
        >
          Cancel
        </button>
      )}
      {canDelete && (
        <button
          type="button"
          class="btn btn-danger"
          disabled={busy}
          onClick={() =>
            perform({
              confirm: {
                title: 'Delete this job?',
                message: `Job ${short} and its execution history are removed for good.`,
                confirmLabel: 'Delete job',
              },
              run: () => api.delete(path),
              success: () => `Job ${short} deleted.`,
              onDone: () => navigate(href(['jobs'], { queue: job.queue, state: job.state })),
            })
          }
        >
          Delete
        </button>
      )}
    </>
  );
}
