/**
 * Job ids. A job enqueued without an id gets one derived from its `seq` (the rowid of `conveyor_jobs`): 16
 * lowercase hex digits, zero-padded, so ids sort in insertion order and the id is stored nowhere (the table's `id`
 * column is virtual: `coalesce(custom_id, printf('%016x', seq))`). A caller-chosen id is stored in `custom_id`.
 *
 * A caller may choose an id that has the generated form. The store keeps the two kinds apart: such an id is looked
 * up among caller ids first, and enqueueing it moves the rowid counter past its value, so no generated job can be
 * given the same id later.
 */

const GENERATED = /^[0-9a-f]{16}$/;

/** The public id of the generated job at `seq` (what SQL computes with `printf('%016x', seq)`). */
export function generatedId(seq: number): string {
  return seq.toString(16).padStart(16, '0');
}

/** The `seq` that `id` names if it has the generated form (and a safe integer value), else null. */
export function generatedSeq(id: string): number | null {
  if (id.length !== 16 || !GENERATED.test(id)) return null;
  const seq = Number.parseInt(id, 16);
  return seq >= 1 && seq <= Number.MAX_SAFE_INTEGER ? seq : null;
}

/** 2^53: no seq reaches it, so it bounds every comparison below. */
const SEQ_LIMIT = 2 ** 53;

/**
 * How many generated ids (16 hex digits of any seq >= 0) sort before `id` as text, capped at 2^53. So a generated
 * job's id is below `id` exactly when its `seq < generatedBelow(id)`: a list bound on ids becomes a bound on seqs,
 * which is how the list index keys generated jobs. Only hex digits (ASCII) are compared, where UTF-8 byte order
 * (SQLite) and UTF-16 order (JavaScript) agree.
 */
export function generatedBelow(id: string): number {
  let n = 0n;
  for (let i = 0; i < 16; i++) {
    if (i >= id.length) return cap(n); // `id` is a proper prefix: every id extending it sorts after it
    const c = id.charCodeAt(i);
    // Hex digits below c: '0'-'9' are 48-57, 'a'-'f' are 97-102.
    const smaller = c <= 48 ? 0 : c <= 58 ? c - 48 : c <= 97 ? 10 : c <= 103 ? c - 87 : 16;
    n += BigInt(smaller) * 16n ** BigInt(15 - i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return cap(n);
  }
  // The first 16 characters are a generated id; it sorts before `id` when `id` is longer.
  return cap(id.length > 16 ? n + 1n : n);
}

/** The seq bound of "id above `id`": a generated job's id is above `id` exactly when `seq > generatedAbove(id)`. */
export function generatedAbove(id: string): number {
  // Above `id` = not below it and not equal to it.
  return generatedBelow(id) + (generatedSeqAny(id) ? 1 : 0) - 1;
}

/** True when `id` has the generated form (16 lowercase hex digits), whatever its value. */
function generatedSeqAny(id: string): boolean {
  return id.length === 16 && GENERATED.test(id);
}

function cap(n: bigint): number {
  return n >= BigInt(SEQ_LIMIT) ? SEQ_LIMIT : Number(n);
}
