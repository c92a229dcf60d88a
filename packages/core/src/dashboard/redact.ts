import type { RedactFunction, RedactTarget } from './options';

/** What a redacted value is replaced with. */
export const REDACTED = '[REDACTED]';

type Document = Record<string, unknown>;

/** Applies the `redact` option to documents about to leave the process. */
export interface Redactor {
  /** True when nothing is ever redacted (documents can be sent as built). */
  readonly none: boolean;
  /** A redacted version of `document` (the input is never changed). */
  apply<T extends object>(document: T, target: RedactTarget): T;
  /** Redact something that may be a document, an array of documents, or anything else. */
  applyUnknown(value: unknown, target: RedactTarget): unknown;
}

function isRecord(value: unknown): value is Document {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A structured clone of JSON-ish data (documents are JSON by construction). */
function cloneJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(cloneJson) as T;
  const out: Document = {};
  for (const key of Object.keys(value)) out[key] = cloneJson((value as Document)[key]);
  return out as T;
}

/** Replace, in place, what `segments` reaches inside `node`. */
function redactPath(node: unknown, segments: readonly string[], index: number): void {
  if (node === null || typeof node !== 'object') return;
  const segment = segments[index] as string;
  const last = index === segments.length - 1;
  const keys = segment === '*' ? Object.keys(node) : Object.hasOwn(node, segment) ? [segment] : [];
  for (const key of keys) {
    if (last) (node as Document)[key] = REDACTED;
    else redactPath((node as Document)[key], segments, index + 1);
  }
}

/** Build the redactor for a `redact` option. */
export function createRedactor(option: readonly string[] | RedactFunction): Redactor {
  if (typeof option === 'function') {
    const fn: RedactFunction = option;
    const apply = <T extends object>(document: T, target: RedactTarget): T =>
      fn(cloneJson(document) as unknown as Document, target) as unknown as T;
    return {
      none: false,
      apply,
      applyUnknown: (value, target) =>
        Array.isArray(value)
          ? value.map((item) => (isRecord(item) ? apply(item, target) : item))
          : isRecord(value)
            ? apply(value, target)
            : value,
    };
  }
  const paths = option.map((path) => path.split('.').filter((s) => s !== '')).filter((s) => s.length > 0);
  if (paths.length === 0) {
    return { none: true, apply: (document) => document, applyUnknown: (value) => value };
  }
  const apply = <T extends object>(document: T): T => {
    const copy = cloneJson(document);
    for (const segments of paths) redactPath(copy, segments, 0);
    return copy;
  };
  return {
    none: false,
    apply,
    applyUnknown: (value) =>
      Array.isArray(value)
        ? value.map((item) => (isRecord(item) ? apply(item) : item))
        : isRecord(value)
          ? apply(value)
          : value,
  };
}
