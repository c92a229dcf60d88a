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
