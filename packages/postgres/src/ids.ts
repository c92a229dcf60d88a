import { randomFillSync } from 'node:crypto';

/** Random hex drawn in bulk: one `randomFillSync` per 512 ids instead of one per id. */
const RANDOM_BYTES = 4096;
const bytes = Buffer.allocUnsafe(RANDOM_BYTES);
let hex = '';
let hexAt = 0;
/** The variant nibble (binary 10xx) for a random hex digit. */
const VARIANT: Readonly<Record<string, string>> = Object.fromEntries(
  [...'0123456789abcdef'].map((d, i) => [d, '89ab'[i & 3] as string]),
);
let lastMs = -1;
let prefix = '';
let sequence = 0;

/**
 * A new job id in the UUID version 7 layout: 48 bits of milliseconds, a 12-bit sequence that keeps ids of one
 * process increasing within a millisecond (and across a clock step back), then 62 random bits.
 *
 * Ids that grow with time land on the right edge of the primary key (and of `executions (job_id, …)`): an enqueue
 * touches the few rightmost leaf pages instead of one random page per job, and a claim or ack finds its rows on
 * pages that are still in memory. Ordered as text (`"C"` collation) they sort by creation time.
 */
export function timeOrderedId(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    sequence = 0;
    prefix = '';
  } else if (++sequence > 0xfff) {
    // 4096 ids in one millisecond (or a clock that went back): borrow the next millisecond, stay increasing.
    lastMs++;
    sequence = 0;
    prefix = '';
  }
  if (prefix === '') {
    const ms = lastMs.toString(16).padStart(12, '0');
    prefix = `${ms.slice(0, 8)}-${ms.slice(8)}-7`;
  }
  if (hexAt + 16 > hex.length) {
    randomFillSync(bytes);
    hex = bytes.toString('hex');
    hexAt = 0;
  }
  const r = hex.slice(hexAt, hexAt + 16);
  hexAt += 16;
  const seq = sequence < 0x10 ? `00${sequence.toString(16)}` : sequence.toString(16).padStart(3, '0');
  return `${prefix}${seq}-${VARIANT[r[0] as string]}${r.slice(1, 4)}-${r.slice(4)}`;
}
