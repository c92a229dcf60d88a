import assert from 'node:assert/strict';
import type { ScheduleDefinition } from '@conveyor/core';
import { defineCheck, ensure, newJob } from '../harness';

/** A schedule definition for tests. */
export function scheduleDef(
  name: string,
  overrides: Partial<Omit<ScheduleDefinition, 'lastFiredAt'>> = {},
): Omit<ScheduleDefinition, 'lastFiredAt'> {
  return {
    name,
    cron: '*/5 * * * *',
    timezone: 'UTC',
    job: newJob('cron-q', { type: `cron.${name}` }),
    nextRunAt: null,
    paused: false,
    ...overrides,
  };
}

export const scheduleChecks = {
  schedulesAreStored: defineCheck(
    'queue: schedules',
    'upsertSchedule creates and replaces by name, listSchedules lists them, removeSchedule removes once',
    async ({ backend, clock }) => {
      const created = await backend.queue.upsertSchedule(scheduleDef('nightly', { nextRunAt: clock.now() + 60_000 }));
      assert.deepEqual(created, { ...scheduleDef('nightly', { nextRunAt: clock.now() + 60_000 }), lastFiredAt: null });
      await backend.queue.upsertSchedule(scheduleDef('hourly', { cron: '0 * * * *', timezone: 'Europe/Paris' }));
      const listed = (await backend.queue.listSchedules()).map((s) => s.name).sort();
      assert.deepEqual(listed, ['hourly', 'nightly']);
      const hourly = (await backend.queue.listSchedules()).find((s) => s.name === 'hourly');
      assert.deepEqual(
        [hourly?.cron, hourly?.timezone, hourly?.job.type],
        ['0 * * * *', 'Europe/Paris', 'cron.hourly'],
      );
      assert.equal(await backend.queue.removeSchedule('hourly'), true);
      assert.equal(await backend.queue.removeSchedule('hourly'), false, 'removing twice answers false');
      assert.deepEqual(
        (await backend.queue.listSchedules()).map((s) => s.name),
        ['nightly'],
      );
    },
  ),

  fireScheduleEnqueuesOncePerTick: defineCheck(
    'queue: schedules',
    'fireSchedule enqueues once per tick, records lastFiredAt and nextRunAt, and refuses a tick already fired',
    async ({ backend, clock }) => {
      await backend.queue.upsertSchedule(scheduleDef('tick'));
      const tick = clock.now();
      const job = newJob('cron-q', { type: 'cron.tick', payload: { at: tick } });
      const fired = await backend.queue.fireSchedule('tick', tick, tick + 300_000, job);
      ensure(fired !== null, 'the first fire of a tick enqueues');
      assert.deepEqual([fired.deduplicated, fired.job.queue, fired.job.type], [false, 'cron-q', 'cron.tick']);
      assert.equal(await backend.queue.fireSchedule('tick', tick, tick + 300_000, job), null, 'same tick again');
      assert.equal(await backend.queue.fireSchedule('tick', tick - 1, tick, job), null, 'an earlier tick');
      const stored = (await backend.queue.listSchedules()).find((s) => s.name === 'tick');
      assert.deepEqual([stored?.lastFiredAt, stored?.nextRunAt], [tick, tick + 300_000]);
      assert.equal((await backend.queue.counts('cron-q'))['cron-q']?.waiting, 1, 'exactly one job');
      clock.advance(300_000);
      const next = await backend.queue.fireSchedule('tick', tick + 300_000, tick + 600_000, job);
      ensure(next !== null && next.job.id !== fired.job.id, 'the next tick enqueues a new job');
      assert.equal((await backend.queue.counts('cron-q'))['cron-q']?.waiting, 2);
    },
  ),

  upsertKeepsLastFiredAt: defineCheck(
    'queue: schedules',
    'replacing a schedule keeps its lastFiredAt, so a redeploy does not fire the same tick again',
    async ({ backend, clock }) => {
      await backend.queue.upsertSchedule(scheduleDef('keep'));
      const tick = clock.now();
      await backend.queue.fireSchedule('keep', tick, tick + 60_000, newJob('cron-q'));
      const replaced = await backend.queue.upsertSchedule(scheduleDef('keep', { cron: '* * * * *', paused: true }));
      assert.deepEqual([replaced.cron, replaced.paused, replaced.lastFiredAt], ['* * * * *', true, tick]);
      assert.equal(await backend.queue.fireSchedule('keep', tick, tick + 60_000, newJob('cron-q')), null);
    },
  ),
};
