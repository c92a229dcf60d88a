import type { AckSideEffects, EnqueueSideEffects } from '@conveyor/core';
import { ACK_SIDE_ARITY } from './lua/lease';
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
