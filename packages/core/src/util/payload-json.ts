import type { NewJob } from '../contracts/job';

/** JSON of payloads the runtime already serialised (to check their size), keyed by the `NewJob` it built. */
const serialised = new WeakMap<NewJob, string>();

/**
 * Remember the JSON text of `job.payload`, computed while validating it, so the adapter that stores the job does not
 * serialise the same payload a second time. Only the runtime calls this, on `NewJob` objects it just built.
 */
export function rememberPayloadJson(job: NewJob, json: string): void {
  serialised.set(job, json);
}

/**
 * The JSON text of a job's payload (`null` for an `undefined` payload): the runtime's own serialisation when it made
 * one, else `JSON.stringify`. Adapters that store payloads as text call this instead of `JSON.stringify(payload)`.
 */
export function payloadJson(job: NewJob): string {
  return serialised.get(job) ?? (job.payload === undefined ? 'null' : JSON.stringify(job.payload));
}
