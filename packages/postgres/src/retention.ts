import type { RetentionOption } from '@conveyor/core';
import { retentionRule } from '@conveyor/core';
import type { PgContext } from './context';

/** A job that just finished under a count/age rule: its queue and the rule (`removeOnComplete` / `removeOnFail`). */
export interface RetentionSubject {
  queue: string;
  option: RetentionOption;
}

/** Rows one retention statement deletes at most: each is its own short transaction, never a long lock. */
const RETENTION_BATCH = 1000;

/**
 * Apply the count and age rules of jobs that just reached `state`, once per (queue, rule): keep the `count` most
 * recently finished jobs of the queue in that state, delete those finished more than `ageMs` ago. Each statement
 * deletes at most {@link RETENTION_BATCH} rows through the `(queue, state, finish_seq)` index; a larger backlog (a
 * rule tightened on a big queue) shrinks by that much on every acknowledgement batch instead of in one long delete.
 * Returns the ids deleted.
 */
export async function applyRetention(
  ctx: PgContext,
  state: 'completed' | 'failed',
  subjects: RetentionSubject[],
): Promise<Set<string>> {
  const rules = new Map<string, RetentionSubject>();
  for (const r of subjects) rules.set(`${r.queue}\u0000${JSON.stringify(r.option)}`, r);
  const gone = new Set<string>();
  const S = ctx.s;
  for (const { queue, option } of rules.values()) {
    const rule = retentionRule(option);
    if (rule.count !== null) {
      const rows = await ctx.query<{ id: string }>(
        `DELETE FROM ${S}.jobs WHERE id IN (
  SELECT id FROM ${S}.jobs WHERE queue = $1 AND state = $2 ORDER BY finish_seq DESC OFFSET $3 LIMIT $4
) RETURNING id`,
        [queue, state, rule.count, RETENTION_BATCH],
        'applying retention',
      );
      for (const r of rows) gone.add(r.id);
    }
    if (rule.ageMs !== null) {
      const rows = await ctx.query<{ id: string }>(
        `DELETE FROM ${S}.jobs WHERE id IN (
  SELECT id FROM ${S}.jobs
  WHERE queue = $2 AND state = $3 AND coalesce(finished_at, created_at) < ${S}.now_ms($1::bigint) - $4::bigint
  ORDER BY finish_seq LIMIT $5
) RETURNING id`,
        [ctx.nowParam(), queue, state, Math.ceil(rule.ageMs), RETENTION_BATCH],
        'applying retention',
      );
      for (const r of rows) gone.add(r.id);
    }
  }
  return gone;
}
