import assert from 'node:assert/strict';
import { JOB_STATES } from '@conveyor/core';
import { ensure, safeJson } from '../harness';
import { acceptableStates, dueCounts, jobList, MODEL_QUEUES, type Model, modelCounts, type Real } from './model';

/**
 * What must hold after every command:
 * - counts per state equal the model's (a due scheduled/retrying job may be counted as waiting);
 * - every job is in the model's state, with the model's attempt (attempts never decrease), and a lease exactly
 *   when active — so at most one lease per job, the one the model holds;
 * - every stale token is refused by a heartbeat (which would otherwise have moved the lease expiry, caught above);
 * - a job that completed is still completed (never active again); a removed job stays gone.
 */
export async function checkInvariants(m: Model, r: Real): Promise<void> {
  // Stale tokens first: if a refused heartbeat changed anything, the job comparison below sees it.
  const stale = jobList(m).flatMap((j) => j.staleTokens.map((token) => ({ jobId: j.id, token })));
  for (const [jobId, { staleTokens }] of m.removed) for (const token of staleTokens) stale.push({ jobId, token });
  if (stale.length > 0) {
    const results = await r.backend.queue.extendLeases(stale, 1000);
    const accepted = results.filter((x) => x.ok);
    ensure(accepted.length === 0, `stale tokens were accepted by extendLeases: ${safeJson(accepted)}`);
  }

  const counts = await r.backend.queue.counts();
  for (const queue of MODEL_QUEUES) {
    const expected = modelCounts(m, queue);
    const got = counts[queue];
    const total = Object.values(expected).reduce((a, b) => a + b, 0);
    if (got === undefined) {
      ensure(total === 0, `counts() has no entry for ${queue}, which holds ${total} jobs`);
      continue;
    }
    const due = dueCounts(m, queue);
    for (const state of JOB_STATES) {
      const g: number = got[state];
      const e = expected[state];
      if (state === 'scheduled' || state === 'retrying') {
        ensure(e - due[state] <= g && g <= e, `${queue}.${state}: counts ${g}, model ${e} (${due[state]} due)`);
      } else if (state === 'waiting') {
        const slack = due.scheduled + due.retrying;
        ensure(e <= g && g <= e + slack, `${queue}.waiting: counts ${g}, model ${e} (+${slack} due)`);
      } else {
        assert.equal(g, e, `${queue}.${state}: counts() disagrees with the model`);
      }
    }
    assert.equal(
      JOB_STATES.reduce((n, s) => n + got[s], 0),
      total,
      `${queue}: the counts add up to the number of jobs`,
    );
  }

  for (const t of m.jobs.values()) {
    const job = await r.backend.queue.getJob(t.id);
    ensure(job, `${t.id} vanished (model state ${t.state})`);
    ensure(
      acceptableStates(t, m.now).includes(job.state),
      `${t.id} is ${job.state}, the model says ${t.state}${t.everCompleted ? ' (it completed: never active again)' : ''}`,
    );
    const seen = m.observedAttempts.get(t.id) ?? 0;
    ensure(job.attempt >= seen, `${t.id}'s attempt went down from ${seen} to ${job.attempt}`);
    m.observedAttempts.set(t.id, job.attempt);
    assert.equal(job.attempt, t.attempt, `${t.id}: attempt`);
    assert.equal(job.maxAttempts, t.maxAttempts, `${t.id}: maxAttempts`);
    assert.equal(job.leaseExpiresAt, t.state === 'active' ? t.leaseExpiresAt : null, `${t.id}: leaseExpiresAt`);
    if (t.state === 'completed') assert.equal(job.finishedAt, t.finishedAt, `${t.id}: finishedAt`);
  }
  for (const id of m.removed.keys()) {
    assert.equal(await r.backend.queue.getJob(id), null, `${id} was removed and must stay gone`);
  }
}
