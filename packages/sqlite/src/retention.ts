import type { FinishedState, RetentionOption } from '@conveyor/core';
import { retentionRule } from '@conveyor/core';
import { STATE_CODES } from './job-row';
import type { SqliteStore } from './store';

/**
 * The rows of one queue in one finished state, through that state's partial index, oldest finished first. The state
 * code is written as a literal (one of three fixed values) because SQLite only uses a partial index whose WHERE
 * clause the query repeats.
 */
export function finishedFrom(state: FinishedState): string {
  return `conveyor_jobs INDEXED BY conveyor_jobs_${state} WHERE state_code = ${STATE_CODES[state]} AND queue = ?`;
}

/**
 * Applies the `removeOnComplete` / `removeOnFail` rules of the jobs one transaction finished. Jobs with "remove at
 * once" are deleted as they come; count and age rules are collected and applied once per (queue, state, rule) at
 * the end, so a batch of 100 completions trims the queue once, not 100 times. Runs inside the caller's transaction.
 */
export class RetentionPass {
  private readonly pending = new Map<
    string,
    { queue: string; state: FinishedState; count: number | null; ageMs: number | null }
  >();

  constructor(private readonly store: SqliteStore) {}

  /** Note a job that just reached `state`. Returns false when it was deleted at once. */
  add(seq: number, queue: string, state: FinishedState, option: RetentionOption): boolean {
    const rule = retentionRule(option);
    if (rule.removeImmediately) {
      this.store.stmt('DELETE FROM conveyor_jobs WHERE seq = ?').run(seq);
      this.store.count(queue, state, -1);
      return false;
    }
    if (rule.count === null && rule.ageMs === null) return true;
    const key = `${queue}\u0000${state}\u0000${rule.count ?? ''}\u0000${rule.ageMs ?? ''}`;
    if (!this.pending.has(key)) this.pending.set(key, { queue, state, count: rule.count, ageMs: rule.ageMs });
    return true;
  }

  /** Apply the collected rules. */
  apply(now: number): void {
    if (this.pending.size === 0) return;
    for (const { queue, state, count, ageMs } of this.pending.values()) {
      if (ageMs !== null) {
        const aged = this.store
          .stmt(`DELETE FROM conveyor_jobs WHERE seq IN (SELECT seq FROM ${finishedFrom(state)} AND finished_at < ?)`)
          .run(queue, now - ageMs).changes;
        this.store.count(queue, state, -aged);
      }
      if (count !== null) trimToCount(this.store, queue, state, count);
    }
    this.pending.clear();
  }
}

/** Reserve `n` values of the store-wide sequence; returns the first. Call inside a write transaction. */
export function nextSeq(store: SqliteStore, n: number): number {
  const last = store
    .stmt('UPDATE conveyor_sequence SET last = last + ? WHERE id = 1 RETURNING last')
    .pluck()
    .get(n) as number;
  return last - n + 1;
}

/**
 * Keep the newest `count` jobs of (queue, state). Reads the counter first, so the common case (under the limit)
 * costs one primary-key read; otherwise deletes exactly the excess, oldest finished first.
 */
export function trimToCount(store: SqliteStore, queue: string, state: FinishedState, count: number): number {
  store.flushCounts();
  const n = (store.stmt('SELECT n FROM conveyor_counts WHERE queue = ? AND state = ?').pluck().get(queue, state) ??
    0) as number;
  if (n <= count) return 0;
  const removed = store
    .stmt(
      `DELETE FROM conveyor_jobs WHERE seq IN (SELECT seq FROM ${finishedFrom(state)}
        ORDER BY finished_at, finish_seq LIMIT ?)`,
    )
    .run(queue, n - count).changes;
  store.count(queue, state, -removed);
  return removed;
}
