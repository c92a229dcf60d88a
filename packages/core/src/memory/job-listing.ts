import type { JobRecord } from './job-record';
import { jobKeyOrder } from './job-record';

/** The type and search filters of a list query as one predicate. Search is case-insensitive. */
export function jobFilter(type: string | undefined, search: string | undefined): (r: JobRecord) => boolean {
  const needle = search === undefined || search === '' ? undefined : search.toLowerCase();
  if (type === undefined && needle === undefined) return () => true;
  return (r) => {
    if (type !== undefined && r.type !== type) return false;
    if (needle === undefined) return true;
    if (r.id.toLowerCase().includes(needle) || r.type.toLowerCase().includes(needle)) return true;
    return payloadText(r.payload).toLowerCase().includes(needle);
  };
}

function payloadText(payload: unknown): string {
  if (typeof payload === 'string') return payload;
  try {
    return JSON.stringify(payload) ?? '';
  } catch {
    return '';
  }
}

/** Merge iterators that each yield descending (createdAt, id) into one descending stream. */
export function* mergeDescending(sources: Iterator<JobRecord>[]): Generator<JobRecord, void, undefined> {
  if (sources.length === 1) {
    const only = sources[0] as Iterator<JobRecord>;
    for (let n = only.next(); !n.done; n = only.next()) yield n.value;
    return;
  }
  const heads: (JobRecord | undefined)[] = sources.map((s) => {
    const n = s.next();
    return n.done ? undefined : n.value;
  });
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h !== undefined && (best < 0 || jobKeyOrder(h, heads[best] as JobRecord) > 0)) best = i;
    }
    if (best < 0) return;
    yield heads[best] as JobRecord;
    const n = (sources[best] as Iterator<JobRecord>).next();
    heads[best] = n.done ? undefined : n.value;
  }
}
