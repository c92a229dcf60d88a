import type { AckSideEffects, CompleteRequest, EnqueueSideEffects } from '@conveyor/core';
import { toJson } from './codec';
import { ACK_SIDE_ARITY } from './lua/lease';
import { METRIC_ARITY } from './lua/metrics';
import { pushMetricArgs } from './metrics-adapter';
import { pushRecordArgs, recordJson, validateRecord } from './storage-adapter';

/** The script flag of an enqueue's side effects: '' none, 'm' the enqueued metric, 'e' metric and events. */
export function enqueueSideFlag(sideEffects: EnqueueSideEffects | undefined): '' | 'm' | 'e' {
  if (sideEffects === undefined) return '';
  return sideEffects.events ? 'e' : 'm';
}

/** One ack's side effects as ACK_SIDE_ARITY script arguments ('' for the parts it does not have). */
export function pushAckSide(args: (string | number)[], side: AckSideEffects | undefined): void {
  if (side === undefined) {
    for (let i = 0; i < ACK_SIDE_ARITY; i++) args.push('');
    return;
  }
  validateRecord(side.record, 0);
  pushRecordArgs(args, side.record);
  pushMetricArgs(args, side.metric);
  args.push(side.event === undefined ? '' : JSON.stringify(side.event));
}

/** What a claim tells a later completion of the same lease (see COMPLETE). */
export interface LeaseHint {
  queue: string;
  type: string;
  /**
   * The lease set member (padded createdAt, then the id), led by '+' when the job has a unique key or a retention
   * rule for its completion to apply.
   */
  member: string;
}

/**
 * The metric groups of one COMPLETE call. Metrics equal but for their time within one minute (the only part of the
 * time a bucket uses) share a group, so the script sums a batch's metrics once per group instead of once per job.
 */
class MetricGroups {
  /** The groups' arguments (METRIC_ARITY each), in group order. */
  readonly args: (string | number)[] = [];
  private readonly groups = new Map<string, number>();

  /** The (1-based) group of one completion's metric, as text. */
  of(side: AckSideEffects): string {
    const m = side.metric;
    // Everything the metric's arguments are made of, the time by its minute (NUL cannot be in a queue or type name
    // the key confuses: a different split only makes one more group).
    const key = `${m.kind}\0${m.queue}\0${m.type}\0${Math.floor(m.at / 60_000)}\0${m.count}\0${m.durationMs}\0${m.waitMs}`;
    let g = this.groups.get(key);
    if (g === undefined) {
      g = this.groups.size + 1;
      this.groups.set(key, g);
      pushMetricArgs(this.args, m);
    }
    return String(g);
  }
}

/**
 * The arguments of one COMPLETE call (see there): side-effect flag, event stream maxLen, metric groups, the batch's
 * shape and the items. What every item of the batch shares is left out of the items: a null result, the hint's
 * queue and type (sent once), the record's job id and queue when they are the completion's own, the metric group
 * when there is one, the event when there is none. A batch of one worker's completions is 7 arguments per job
 * instead of 13: fewer to encode here, and fewer for the script to take.
 * `hints[i]` is what the adapter learnt when it claimed `requests[i]`, if it did.
 */
export function completeArgs(
  requests: CompleteRequest[],
  hints: (LeaseHint | undefined)[],
  eventStreamMaxLen: number,
): (string | number)[] {
  const n = requests.length;
  const side = requests.some((r) => r.sideEffects !== undefined);
  const groups = new MetricGroups();
  const results: string[] = new Array(n);
  // Each record's JSON (none for a completion without side effects).
  const records: string[] = new Array(n);
  const groupOf: string[] = new Array(n);
  const eventOf: string[] = new Array(n);
  let hq: string | undefined;
  let ht = '';
  let allNull = true;
  let perItemHints = false;
  let ownRecords = true;
  let oneGroup = true;
  let anyEvent = false;
  for (let i = 0; i < n; i++) {
    const r = requests[i] as CompleteRequest;
    const hint = hints[i];
    const result = toJson(r.result, `result of job ${r.jobId}`);
    results[i] = result;
    if (result !== 'null') allNull = false;
    if (hint !== undefined) {
      if (hq === undefined) {
        hq = hint.queue;
        ht = hint.type;
      } else if (hint.queue !== hq || hint.type !== ht) perItemHints = true;
    }
    if (!side) continue;
    const se = r.sideEffects;
    if (se === undefined) {
      groupOf[i] = '';
      eventOf[i] = '';
      oneGroup = false;
      continue;
    }
    validateRecord(se.record, 0);
    records[i] = recordJson(se.record);
    if (hint === undefined || se.record.jobId !== r.jobId || se.record.queue !== hint.queue) ownRecords = false;
    const g = groups.of(se);
    if (g !== '1') oneGroup = false;
    groupOf[i] = g;
    if (se.event === undefined) eventOf[i] = '';
    else {
      anyEvent = true;
      eventOf[i] = JSON.stringify(se.event);
    }
  }
  let flags = '';
  if (allNull) flags += 'n';
  if (perItemHints) flags += 'h';
  if (side && !ownRecords) flags += 'r';
  if (side && !oneGroup) flags += 'g';
  if (side && anyEvent) flags += 'e';
  const args: (string | number)[] = [side ? '1' : '', eventStreamMaxLen, groups.args.length / METRIC_ARITY];
  for (const a of groups.args) args.push(a);
  args.push(flags, hq ?? '', ht);
  for (let i = 0; i < n; i++) {
    const r = requests[i] as CompleteRequest;
    const hint = hints[i];
    args.push(r.jobId, String(r.token));
    if (!allNull) args.push(results[i] as string);
    if (perItemHints) args.push(hint?.queue ?? '', hint?.type ?? '');
    args.push(hint?.member ?? '');
    if (!side) continue;
    const json = records[i];
    const record = r.sideEffects?.record;
    if (json === undefined || record === undefined) {
      args.push('');
      if (!ownRecords) args.push('', '');
      args.push('', '');
    } else {
      args.push(record.id);
      if (!ownRecords) {
        args.push(
          record.jobId === r.jobId ? '' : record.jobId,
          hint !== undefined && record.queue === hint.queue ? '' : record.queue,
        );
      }
      args.push(String(record.startedAt), json);
    }
    if (!oneGroup) args.push(groupOf[i] as string);
    if (anyEvent) args.push(eventOf[i] as string);
  }
  return args;
}
