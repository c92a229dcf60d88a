import type { AckSideEffects, EnqueueSideEffects } from '@conveyor/core';
import { ACK_SIDE_ARITY, COMPLETE_SIDE_ARITY } from './lua/lease';
import { pushMetricArgs } from './metrics-adapter';
import { pushRecordArgs, validateRecord } from './storage-adapter';

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

/**
 * The side-effect arguments of one COMPLETE call: per completion COMPLETE_SIDE_ARITY arguments (the record, with
 * its job id and queue left out when they are the completion's own, a metric group and the event), and the metric
 * groups they refer to. Metrics equal but for their time within one minute (the only part of the time a bucket
 * uses) share a group, so the script sums a batch's metrics once per group instead of once per job.
 */
export class CompleteSideArgs {
  /** The groups' arguments (METRIC_ARITY each), in group order. */
  readonly groupArgs: (string | number)[] = [];
  private readonly groups = new Map<string, number>();

  /** Push one completion's side-effect arguments; `queue` is the queue hint sent with it ('' when none). */
  push(args: (string | number)[], jobId: string, queue: string, side: AckSideEffects | undefined): void {
    if (side === undefined) {
      for (let i = 0; i < COMPLETE_SIDE_ARITY; i++) args.push('');
      return;
    }
    const r = side.record;
    validateRecord(r, 0);
    const record: (string | number)[] = [];
    pushRecordArgs(record, r);
    // record: id, jobId, queue, startedAt, json
    args.push(
      record[0] as string,
      r.jobId === jobId ? '' : (record[1] as string),
      queue !== '' && r.queue === queue ? '' : (record[2] as string),
      record[3] as string,
      record[4] as string,
      this.group(side),
      side.event === undefined ? '' : JSON.stringify(side.event),
    );
  }

  private group(side: AckSideEffects): string {
    const metric: (string | number)[] = [];
    pushMetricArgs(metric, side.metric);
    // kind, queue, type, at, count, h, value: the time counts by its minute.
    const key = JSON.stringify([
      metric[0],
      metric[1],
      metric[2],
      Math.floor(Number(metric[3]) / 60_000),
      metric[4],
      metric[5],
      metric[6],
    ]);
    let g = this.groups.get(key);
    if (g === undefined) {
      g = this.groups.size + 1;
      this.groups.set(key, g);
      for (const a of metric) this.groupArgs.push(a);
    }
    return String(g);
  }
}
