import { randomBytes } from 'node:crypto';

const pool = { bytes: Buffer.alloc(0), offset: 0 };

function random10(): Buffer {
  if (pool.offset + 10 > pool.bytes.length) {
    pool.bytes = randomBytes(10 * 1024);
    pool.offset = 0;
  }
  const out = pool.bytes.subarray(pool.offset, pool.offset + 10);
  pool.offset += 10;
  return out;
}

/**
 * A UUID version 7 (RFC 9562) for `ms`: 48 bits of time, then 74 random bits. Generated ids sort by creation time,
 * so new rows land at the right edge of the id index instead of at random pages (random v4 ids made every insert
 * touch a different page). Callers may still pass any id they like.
 */
export function timeOrderedId(ms: number): string {
  const time = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12);
  const r = random10();
  const hex = r.toString('hex');
  // version nibble 7; variant bits 10xx
  const variant = ((r[2] as number) & 0x3f) | 0x80;
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${hex.slice(0, 3)}-${variant.toString(16).padStart(2, '0')}${hex.slice(6, 8)}-${hex.slice(8, 20)}`;
}
