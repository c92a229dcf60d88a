import { randomBytes } from 'node:crypto';

/**
 * Cheap unique ids for execution records and events: `<time><sequence><process>`.
 *
 * `randomUUID()` per job would be fine for correctness, but the worker makes two or three ids per job on its hot
 * path. These ids cost a counter increment and a short string concatenation, sort by creation time within one
 * process (time first, then a zero-padded sequence), and are unique across processes thanks to a random suffix
 * drawn once at load.
 */
const PROCESS_SUFFIX = randomBytes(6).toString('base64url');
let sequence = 0;
let lastMs = -1;
let lastMsText = '';

/** A new id, unique across processes and increasing within this one. */
export function nextId(now: number = Date.now()): string {
  if (now !== lastMs) {
    lastMs = now;
    lastMsText = now.toString(36).padStart(9, '0');
  }
  sequence = (sequence + 1) % 0x7fffffff;
  return lastMsText + sequence.toString(36).padStart(6, '0') + PROCESS_SUFFIX;
}

let isoMs = -1;
let isoText = '';

/** `new Date(ms).toISOString()`, cached for the last millisecond asked (events come in bursts). */
export function isoTimestamp(ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}
