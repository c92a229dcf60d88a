import type { BackoffOptions, ClaimedJob, Job, JobState, NewJob, RetentionOption } from '@conveyor/core';
import { assertValidNewJob, buildJob, JOB_STATES, newJobId, retentionRule } from '@conveyor/core';
import { validationError } from './options';

/**
 * How a job is stored: one Redis hash per job with short field names (they are repeated in every job hash):
 *
 * id, q queue, t type, p payload (JSON), s state, pr priority, a attempt, ma maxAttempts, bo backoff (JSON),
 * to timeoutMs, uk uniqueKey, rc/rf removeOnComplete/removeOnFail (JSON), rci/rcc/rca and rfi/rfc/rfa the
 * retention rules the scripts apply, m meta (JSON), c createdAt, r runAt, sq insertion order, st startedAt,
 * f finishedAt, fs finish order, res result (JSON), e lastError (JSON), pg progress (JSON), w workerId,
 * l leaseExpiresAt, tk fencing token, pl '1' while the job has none of bo, to, uk, rc, rf, m, e, pg (the claim then
 * reads fewer fields; a hash without it is read whole). Absent fields are null (or the documented default).
 */

const STATE_SET: ReadonlySet<string> = new Set(JOB_STATES);

/** JSON text of a value, `null` for undefined; VALIDATION_FAILED when it cannot be serialised. */
export function toJson(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value === undefined ? null : value);
  } catch (error) {
    throw validationError(`${what} must be JSON-serialisable (${error instanceof Error ? error.message : error}).`);
  }
  if (text === undefined) throw validationError(`${what} must be JSON-serialisable (got ${typeof value}).`);
  return text;
}

/**
 * Check what the store relies on (the runtime validates options in depth before they get here). Throws
 * `VALIDATION_FAILED` naming the field, before anything is written.
 */
export function validateNewJob(input: NewJob, index?: number): void {
  assertValidNewJob(validationError, input, index);
}

function ruleArgs(option: RetentionOption): [string, string, string] {
  if (option === false) return ['', '', ''];
  const rule = retentionRule(option);
  return [
    rule.removeImmediately ? '1' : '',
    rule.count === null ? '' : String(rule.count),
    rule.ageMs === null ? '' : String(rule.ageMs),
  ];
}

/** A validated job as the enqueue script's arguments (ENQUEUE_ARITY of them), with the id it will get. */
export interface EncodedJob {
  id: string;
  args: string[];
}

/**
 * Encode a job for the enqueue script. Defaults come from `buildJob` itself (run at time 0), so this adapter and
 * every other one agree on them; the script only decides createdAt, runAt and the initial state from its clock.
 */
export function encodeNewJob(input: NewJob, index?: number): EncodedJob {
  validateNewJob(input, index);
  const id = input.id ?? newJobId();
  const t = buildJob(input, 0, id);
  const where = index === undefined ? '' : `job #${index}: `;
  const args = [
    id,
    t.queue,
    t.type,
    toJson(t.payload, `${where}payload`),
    String(t.priority),
    String(input.delayMs ?? 0),
    input.runAt === undefined ? '' : String(input.runAt),
    String(t.maxAttempts),
    t.backoff === null ? '' : toJson(t.backoff, `${where}backoff`),
    t.timeoutMs === null ? '' : String(t.timeoutMs),
    t.uniqueKey === null ? '' : `k${t.uniqueKey}`,
    t.removeOnComplete === false ? '' : toJson(t.removeOnComplete, `${where}removeOnComplete`),
    t.removeOnFail === false ? '' : toJson(t.removeOnFail, `${where}removeOnFail`),
    t.meta === null ? '' : toJson(t.meta, `${where}meta`),
    ...ruleArgs(t.removeOnComplete),
    ...ruleArgs(t.removeOnFail),
  ];
  return { id, args };
}

function parse(text: string | undefined): unknown {
  return text === undefined ? null : JSON.parse(text);
}

function num(text: string | undefined): number | null {
  return text === undefined ? null : Number(text);
}

/** A job hash (HGETALL as a flat [field, value, …] list) as a {@link Job}; null when empty. */
export function decodeJob(flat: unknown): Job | null {
  if (!Array.isArray(flat) || flat.length === 0) return null;
  const h: Record<string, string | undefined> = {};
  for (let i = 0; i < flat.length; i += 2) h[flat[i] as string] = flat[i + 1] as string;
  const state = h.s as string;
  if (!STATE_SET.has(state)) return null;
  const job: Job = {
    id: h.id as string,
    queue: h.q as string,
    type: h.t as string,
    payload: parse(h.p),
    state: state as JobState,
    priority: Number(h.pr ?? 0),
    attempt: Number(h.a ?? 0),
    maxAttempts: Number(h.ma),
    backoff: parse(h.bo) as BackoffOptions | null,
    timeoutMs: num(h.to),
    uniqueKey: h.uk ?? null,
    removeOnComplete: h.rc === undefined ? false : (JSON.parse(h.rc) as RetentionOption),
    removeOnFail: h.rf === undefined ? false : (JSON.parse(h.rf) as RetentionOption),
    meta: parse(h.m) as Record<string, unknown> | null,
    createdAt: Number(h.c),
    runAt: Number(h.r),
    startedAt: num(h.st),
    finishedAt: num(h.f),
    result: parse(h.res),
    lastError: parse(h.e) as Job['lastError'],
    progress: parse(h.pg),
    workerId: h.w ?? null,
    leaseExpiresAt: state === 'active' ? num(h.l) : null,
  };
  return job;
}

/**
 * The claimed jobs of a claim script's reply as {@link ClaimedJob}s. Each job's reply holds its id, its fields before
 * the claim (c, a, ma, r, p), its ready set score (-priority), then its queue and type (absent when they are the previous job's), then bo, to,
 * uk, rc, rf, m, e, pg unless the job is plain (absent ones null); the claim's changes are applied: active, one
 * more attempt, the lease's fencing token (base + 1, base + 2, … in reply order), startedAt = the claim time, the
 * worker and the lease expiry.
 */
export function decodeClaimed(
  replies: unknown[][],
  base: number,
  now: number,
  workerId: string,
  expires: number,
): ClaimedJob[] {
  const jobs: ClaimedJob[] = new Array(replies.length);
  let queue = '';
  let type = '';
  for (let i = 0; i < replies.length; i++) {
    const f = replies[i] as (string | null)[];
    if (f.length > 7) {
      queue = f[7] as string;
      type = f[8] as string;
    }
    jobs[i] = {
      id: f[0] as string,
      queue,
      type,
      payload: parse(f[5] ?? undefined),
      state: 'active',
      // The ready set score is -priority (0 - x: never -0).
      priority: 0 - Number(f[6]),
      attempt: Number(f[2] ?? 0) + 1,
      maxAttempts: Number(f[3]),
      backoff: parse(f[9] ?? undefined) as BackoffOptions | null,
      timeoutMs: num(f[10] ?? undefined),
      uniqueKey: f[11] ?? null,
      removeOnComplete: f[12] == null ? false : (JSON.parse(f[12]) as RetentionOption),
      removeOnFail: f[13] == null ? false : (JSON.parse(f[13]) as RetentionOption),
      meta: parse(f[14] ?? undefined) as Record<string, unknown> | null,
      createdAt: Number(f[1]),
      runAt: Number(f[4]),
      startedAt: now,
      finishedAt: null,
      result: null,
      lastError: parse(f[15] ?? undefined) as Job['lastError'],
      progress: parse(f[16] ?? undefined),
      workerId,
      leaseExpiresAt: expires,
      token: base + i + 1,
    };
  }
  return jobs;
}
