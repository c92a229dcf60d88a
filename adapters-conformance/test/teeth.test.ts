import { describe, expect, it } from 'vitest';
import { checks, runCheck, runModel } from '../src/index';
import {
  completeIgnoresToken,
  countsOffByOne,
  fireScheduleCheckThenAct,
  healthy,
  heartbeatIgnoresToken,
  nonAtomicClaim,
  recoverResurrectsCompleted,
} from './broken-adapters';

// The suite has teeth: each deliberately broken adapter fails the checks that guard against its bug, while the
// healthy memory backend passes the very same checks (so the failure is the bug's, not the check's).
const MODEL_RUNS = 200;

describe('a claim that is not atomic (read, await, unconditional write)', () => {
  it('fails the exclusive-claim check with a job claimed twice', async () => {
    await expect(runCheck(checks.claimIsExclusive, nonAtomicClaim)).rejects.toThrow(/claimed twice/);
    await expect(runCheck(checks.claimIsExclusive, healthy)).resolves.toBeUndefined();
  });
});

describe('a complete that ignores the fencing token', () => {
  it('fails the stale-token check and the model', async () => {
    await expect(runCheck(checks.staleTokensAreRefused, completeIgnoresToken)).rejects.toThrow(/complete/);
    await expect(runCheck(checks.completeStoresTheResult, completeIgnoresToken)).resolves.toBeUndefined();
    await expect(runModel(completeIgnoresToken, { runs: MODEL_RUNS })).rejects.toThrow(/complete/);
  });
});

describe('a recoverStalled that resurrects completed jobs', () => {
  it('fails the conditional-recovery check and the model', async () => {
    await expect(runCheck(checks.recoveryLeavesCompletedJobsAlone, recoverResurrectsCompleted)).rejects.toThrow(
      /never recovered/,
    );
    await expect(runModel(recoverResurrectsCompleted, { runs: MODEL_RUNS })).rejects.toThrow();
    await expect(runCheck(checks.recoveryLeavesCompletedJobsAlone, healthy)).resolves.toBeUndefined();
  });
});

describe('a heartbeat that ignores the fencing token', () => {
  it('fails the heartbeat and stale-token checks and the model', async () => {
    await expect(runCheck(checks.heartbeatsExtendLeases, heartbeatIgnoresToken)).rejects.toThrow(/in input order/);
    await expect(runCheck(checks.staleTokensAreRefused, heartbeatIgnoresToken)).rejects.toThrow(/extend/);
    await expect(runModel(heartbeatIgnoresToken, { runs: MODEL_RUNS })).rejects.toThrow(/extend/);
  });
});

describe('a fireSchedule that checks, awaits, then acts', () => {
  it('fails the concurrent-fire check but passes the sequential one', async () => {
    await expect(runCheck(checks.concurrentFireScheduleEnqueuesOnce, fireScheduleCheckThenAct)).rejects.toThrow(
      /exactly one/,
    );
    await expect(runCheck(checks.fireScheduleEnqueuesOncePerTick, fireScheduleCheckThenAct)).resolves.toBeUndefined();
  });
});

describe('counts that are off by one', () => {
  it('fails the counts checks and the model', async () => {
    await expect(runCheck(checks.countsCoverEveryState, countsOffByOne)).rejects.toThrow();
    await expect(runCheck(checks.delayedJobsAreScheduled, countsOffByOne)).rejects.toThrow();
    await expect(runModel(countsOffByOne, { runs: MODEL_RUNS })).rejects.toThrow(/waiting/);
  });
});

describe('the healthy memory backend', () => {
  it('passes the model the broken ones fail', async () => {
    await expect(runModel(healthy, { runs: MODEL_RUNS })).resolves.toBeUndefined();
  });
});
