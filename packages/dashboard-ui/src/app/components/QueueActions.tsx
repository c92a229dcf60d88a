/** Pause / resume, retry failed and clean for one queue; hidden in read-only mode. */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useAction } from '../actions';
import { formatCount } from '../format';
import { useApp } from '../hooks';
import type { QueueSummary } from '../types';

const CLEANABLE = ['completed', 'failed', 'cancelled'] as const;
type Cleanable = (typeof CLEANABLE)[number];

const AGES: { label: string; ms: number }[] = [
  { label: 'any age', ms: 0 },
  { label: 'older than 1 hour', ms: 3_600_000 },
  { label: 'older than 1 day', ms: 86_400_000 },
  { label: 'older than 7 days', ms: 7 * 86_400_000 },
];

export function QueueActions({ queue, onChanged }: { queue: QueueSummary; onChanged: () => void }): JSX.Element | null {
  const { api, readOnly } = useApp();
  const [perform, busy] = useAction();
  const [cleaning, setCleaning] = useState(false);
  if (readOnly) return null;
  const path = `/queues/${encodeURIComponent(queue.name)}`;
  const failed = queue.counts.failed ?? 0;
  return (
    <div class="row-actions">
      <button
        type="button"
        class="btn btn-small"
        disabled={busy}
        onClick={() =>
          perform({
            run: () => api.post(`${path}/${queue.paused ? 'resume' : 'pause'}`),
            success: () => `Queue ${queue.name} ${queue.paused ? 'resumed' : 'paused'}.`,
            onDone: onChanged,
          })
        }
      >
        {queue.paused ? 'Resume' : 'Pause'}
      </button>
      <button
        type="button"
        class="btn btn-small"
        disabled={busy || failed === 0}
        title={failed === 0 ? 'No failed jobs' : undefined}
        onClick={() =>
          perform({
            confirm: {
              title: `Retry failed jobs of ${queue.name}?`,
              message: `Up to ${formatCount(Math.min(failed, 1000))} failed jobs go back to waiting and run again.`,
              confirmLabel: 'Retry failed',
              danger: false,
            },
            run: async () => (await api.post<{ retried: number }>(`${path}/retry-failed`, { limit: 1000 })).data,
            success: (result) => `${formatCount(result.retried)} jobs of ${queue.name} queued again.`,
            onDone: onChanged,
          })
        }
      >
        Retry failed
      </button>
      <button type="button" class="btn btn-small btn-ghost-danger" disabled={busy} onClick={() => setCleaning(true)}>
        Clean…
      </button>
      {cleaning && (
        <CleanDialog
          queue={queue}
          onClose={() => setCleaning(false)}
          onClean={(state, olderThanMs) => {
            setCleaning(false);
            void perform({
              run: async () =>
                (await api.post<{ removed: number }>(`${path}/clean`, { state, olderThanMs, limit: 1000 })).data,
              success: (result) => `Removed ${formatCount(result.removed)} ${state} jobs from ${queue.name}.`,
              onDone: onChanged,
            });
          }}
        />
      )}
    </div>
  );
}

/** The clean form, itself the confirmation: it names what will be deleted before the red button. */
function CleanDialog({
  queue,
  onClose,
  onClean,
}: {
  queue: QueueSummary;
  onClose: () => void;
  onClean: (state: Cleanable, olderThanMs: number) => void;
}): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null);
  const [state, setState] = useState<Cleanable>('completed');
  const [age, setAge] = useState(0);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  const count = queue.counts[state] ?? 0;
  const ageLabel = AGES.find((option) => option.ms === age)?.label ?? '';
  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby="clean-title"
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          onClean(state, age);
        }}
      >
        <h2 id="clean-title">Clean {queue.name}</h2>
        <fieldset class="choices">
          <legend>Delete jobs that are</legend>
          {CLEANABLE.map((option) => (
            <label key={option} class="choice">
              <input
                type="radio"
                name="state"
                value={option}
                checked={state === option}
                onChange={() => setState(option)}
              />
              {option} <span class="muted">({formatCount(queue.counts[option] ?? 0)})</span>
            </label>
          ))}
        </fieldset>
        <label class="field-label">
          Finished
          <select value={String(age)} onChange={(event) => setAge(Number(event.currentTarget.value))}>
            {AGES.map((option) => (
              <option key={option.ms} value={String(option.ms)}>
                {option.label}
              </option>
            ))}
          </select>
        </label>
        <p class="warning">
          Up to {formatCount(Math.min(count, 1000))} {state} jobs finished {ageLabel} are deleted for good, with their
          history.
        </p>
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn btn-danger" disabled={count === 0}>
            Delete {state} jobs
          </button>
        </div>
      </form>
    </dialog>
  );
}
