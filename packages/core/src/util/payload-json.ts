import type { NewJob } from '../contracts/job';

/** Where the runtime leaves the payload's JSON on a `NewJob` it built (a symbol: invisible to JSON and `Object.keys`). */
const PAYLOAD_JSON = Symbol('conveyor.payloadJson');

interface Serialised {
  /** The payload the text was made from: a copy of the job with another payload must not reuse the text. */
  payload: unknown;
  json: string;
}

type WithJson = NewJob & { [PAYLOAD_JSON]?: Serialised };

/**
 * Remember the JSON text of `job.payload`, computed while validating it, so the adapter that stores the job does not
 * serialise the same payload a second time. Only the runtime calls this, on `NewJob` objects it just built.
 */
export function rememberPayloadJson(job: NewJob, json: string): void {
  (job as WithJson)[PAYLOAD_JSON] = { payload: job.payload, json };
}

/**
 * The JSON text of a job's payload (`null` for an `undefined` payload): the runtime's own serialisation when it made
 * one for this very payload, else `JSON.stringify`. Adapters that store payloads as text call this instead of
 * `JSON.stringify(payload)`.
 */
export function payloadJson(job: NewJob): string {
  const known = (job as WithJson)[PAYLOAD_JSON];
  if (known !== undefined && known.payload === job.payload) return known.json;
  return job.payload === undefined ? 'null' : JSON.stringify(job.payload);
}
