import type { ConformanceCheck } from '../types';
import { adminChecks } from './admin';
import { claimChecks } from './claim';
import { concurrencyChecks } from './concurrency';
import { enqueueChecks, lifecycleChecks } from './enqueue';
import { eventChecks } from './events';
import { inlineRecordChecks } from './inline-records';
import { leaseChecks } from './leases';
import { metricsChecks } from './metrics';
import { readingChecks } from './reading';
import { recoveryChecks } from './recovery';
import { retentionChecks } from './retention';
import { scheduleChecks } from './schedules';
import { storageChecks } from './storage';

/**
 * Every example-based and concurrency check, by id. Each is a plain async function of a {@link CheckContext}
 * that throws on a violation, so you can run one on its own (`runCheck(checks.claimIsExclusive, factory)`).
 * The ids are what `skip` takes.
 */
export const checks = {
  ...lifecycleChecks,
  ...enqueueChecks,
  ...claimChecks,
  ...leaseChecks,
  ...recoveryChecks,
  ...readingChecks,
  ...adminChecks,
  ...retentionChecks,
  ...scheduleChecks,
  ...storageChecks,
  ...metricsChecks,
  ...eventChecks,
  ...inlineRecordChecks,
  ...concurrencyChecks,
} satisfies Record<string, ConformanceCheck>;

/** The id of a check in {@link checks}. */
export type CheckId = keyof typeof checks;
