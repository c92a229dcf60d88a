import { AssertionError } from 'node:assert';
import {
  type AdapterCapabilities,
  type Backend,
  type ClaimedJob,
  type ClaimRequest,
  closeBackend,
  type ErrorCode,
  initBackend,
  isConveyorError,
  type NewJob,
} from '@conveyor/core';
import { createTestClock } from './clock';
import type { BackendFactory, CheckContext, CheckGroup, ConformanceCheck } from './types';

/** Define a check: the function keeps its name-free signature, the metadata rides along. */
export function defineCheck(
  group: CheckGroup,
  title: string,
  run: (context: CheckContext) => Promise<void>,
  unsupported?: (capabilities: AdapterCapabilities) => string | null,
): ConformanceCheck {
  const fn = (context: CheckContext) => run(context);
  return Object.assign(fn, unsupported ? { title, group, unsupported } : { title, group });
}

/** Options of {@link withBackend}. */
export interface WithBackendOptions {
  /** Start time of the test clock. @default TEST_EPOCH */
  start?: number;
  /** Upper bound for real-time waits inside checks. @default 5000 */
  deliveryTimeoutMs?: number;
}

/**
 * Build a fresh backend with its own test clock, initialise it, run `body`, and close it (even when `body`
 * throws). This is how the suite runs every check; call it yourself to run one check outside vitest.
 */
export async function withBackend<T>(
  createBackend: BackendFactory,
  body: (context: CheckContext) => Promise<T>,
  options: WithBackendOptions = {},
): Promise<T> {
  const clock = createTestClock(options.start);
  const backend = await createBackend({ clock });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await closeBackend(backend);
  };
  try {
    await initBackend(backend);
    return await body({ backend, clock, close, deliveryTimeoutMs: options.deliveryTimeoutMs ?? 5000 });
  } finally {
    await close();
  }
}

/** Run one check against a fresh backend from `createBackend`. */
export function runCheck(
  check: ConformanceCheck,
  createBackend: BackendFactory,
  options: WithBackendOptions = {},
): Promise<void> {
  return withBackend(createBackend, (context) => check(context), options);
}

/** Fail with a message that names the contract clause. */
export function fail(message: string): never {
  throw new AssertionError({ message: `[conformance] ${message}` });
}

/** Assert `condition`, else fail with `message`. */
export function ensure(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message);
}

/** Await `action` and assert it rejects with a `ConveyorError` of `code`. Returns the error. */
export async function expectConveyorError(action: () => Promise<unknown>, code: ErrorCode, what: string) {
  let outcome: unknown;
  try {
    outcome = await action();
  } catch (error) {
    if (isConveyorError(error, code)) return error;
    const got = isConveyorError(error) ? `ConveyorError(${error.code})` : String(error);
    fail(`${what}: expected a ConveyorError with code ${code}, got ${got}`);
  }
  return fail(`${what}: expected a ConveyorError with code ${code}, but it resolved with ${safeJson(outcome)}`);
}

export function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Default claim request fields, so checks only spell out what matters to them. */
export function claimReq(queues: string[] | string, overrides: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    queues: Array.isArray(queues) ? queues : [queues],
    workerId: 'worker-1',
    limit: 1,
    leaseMs: 30_000,
    ...overrides,
  };
}

/** A job for `queue` with a small JSON payload. */
export function newJob(queue: string, overrides: Partial<NewJob> = {}): NewJob {
  return { queue, type: 'test.job', payload: { n: 1 }, ...overrides };
}

/** Claim exactly one job and fail when none is ready. */
export async function claimOne(backend: Backend, queue: string, overrides: Partial<ClaimRequest> = {}) {
  const claimed = await backend.queue.claim(claimReq(queue, { ...overrides, limit: 1 }));
  ensure(claimed.length === 1, `claim from "${queue}" should return one ready job, got ${claimed.length}`);
  return claimed[0] as ClaimedJob;
}

/** Enqueue a job and claim it at once; the queue must hold nothing else ready. */
export async function enqueueAndClaim(
  backend: Backend,
  queue: string,
  job: Partial<NewJob> = {},
  claim: Partial<ClaimRequest> = {},
): Promise<ClaimedJob> {
  await backend.queue.enqueue(newJob(queue, job));
  return claimOne(backend, queue, claim);
}

/**
 * Poll `probe` until it returns true or `timeoutMs` passes (real time). For networked adapters that deliver
 * asynchronously: a bounded wait, never a fixed sleep.
 */
export async function waitUntil(probe: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    if (await probe()) return;
    if (Date.now() >= deadline) fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 50);
  }
}

/** Collect every page of `fetch` (cursor paging), failing on a loop. */
export async function collectPages<T>(
  fetch: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null }>,
  maxPages = 1000,
): Promise<{ items: T[]; pages: T[][] }> {
  const items: T[] = [];
  const pages: T[][] = [];
  let cursor: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const page = await fetch(cursor);
    pages.push(page.items);
    items.push(...page.items);
    if (page.nextCursor === null) return { items, pages };
    ensure(page.items.length > 0, 'a page with a nextCursor must hold at least one item');
    ensure(page.nextCursor !== cursor, 'nextCursor must move forward (the same cursor came back)');
    cursor = page.nextCursor;
  }
  return fail(`paging did not end after ${maxPages} pages`);
}
