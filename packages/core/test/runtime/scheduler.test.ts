import { afterEach, describe, expect, it } from 'vitest';
import { ConveyorError, createMemoryBackend, type MemoryBackend, Scheduler } from '../../src/index';
import { collectEvents, pendingTimers, waitFor } from './helpers';

const schedulers: Scheduler[] = [];
afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((s) => s.close()));
});

/** A store whose clock the test sets by hand. */
function manualBackend(start: string): { backend: MemoryBackend; set(iso: string): void; advance(ms: number): void } {
  let now = Date.parse(start);
  const backend = createMemoryBackend({ clock: () => now });
  return {
    backend,
    set: (iso) => {
      now = Date.parse(iso);
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

function schedulerFor(backend: MemoryBackend, tickMs = 1000): Scheduler {
  const scheduler = new Scheduler({ backend, tickMs });
  schedulers.push(scheduler);
  return scheduler;
}

async function jobsIn(backend: MemoryBackend, queue: string) {
  return (await backend.queue.listJobs({ queue, limit: 1000 })).items;
}

describe('Scheduler validation', () => {
  it.each([
    ['61 * * * *', /cron expression "61 \* \* \* \*" is not valid .*minute.*Use five fields/],
    ['* * * *', /is not valid .*five or six/],
    ['', /must be a non-empty string/],
    ['0 0 31 2 *', /never fires/],
  ])('refuses the cron expression %j with VALIDATION_FAILED', async (cron, message) => {
    const scheduler = schedulerFor(createMemoryBackend());
    const error = await scheduler.schedule('s', cron, { queue: 'q', type: 't' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConveyorError);
    expect((error as ConveyorError).code).toBe('VALIDATION_FAILED');
    expect((error as ConveyorError).message).toMatch(message);
  });

  it('refuses an unknown time zone, timing options and bad job options', async () => {
    const scheduler = schedulerFor(createMemoryBackend());
    await expect(
      scheduler.schedule('s', '* * * * *', { queue: 'q', type: 't', timezone: 'Mars/Olympus' }),
    ).rejects.toThrow(/time zone "Mars\/Olympus" is not a known IANA time zone/);
    await expect(
      scheduler.schedule('s', '* * * * *', { queue: 'q', type: 't', options: { delayMs: 5 } as never }),
    ).rejects.toThrow(/options\.delayMs cannot be set/);
    await expect(
      scheduler.schedule('s', '* * * * *', { queue: 'q', type: 't', options: { maxAttempts: 0 } }),
    ).rejects.toThrow(/options\.maxAttempts: must be at least 1/);
    expect(await scheduler.list()).toEqual([]);
  });
});

describe('Scheduler firing', () => {
  it('two instances enqueue exactly one job per tick', async () => {
    const store = manualBackend('2030-01-01T00:00:30Z');
    const a = schedulerFor(store.backend);
    const b = schedulerFor(store.backend);
    await a.schedule('every-minute', '* * * * *', { queue: 'reports', type: 'report', payload: { kind: 'usage' } });
    await b.schedule('every-minute', '* * * * *', { queue: 'reports', type: 'report', payload: { kind: 'usage' } });
    expect(await Promise.all([a.tick(), b.tick()])).toEqual([0, 0]); // 00:00:30: nothing due yet
    const fired: number[] = [];
    for (let minute = 1; minute <= 5; minute++) {
      store.set(`2030-01-01T00:0${minute}:00.500Z`);
      const [x, y] = await Promise.all([a.tick(), b.tick()]);
      fired.push((x ?? 0) + (y ?? 0));
    }
    expect(fired).toEqual([1, 1, 1, 1, 1]);
    const jobs = await jobsIn(store.backend, 'reports');
    expect(jobs).toHaveLength(5);
    expect(jobs.map((j) => j.meta?.['scheduledFor']).sort()).toEqual([
      '2030-01-01T00:01:00.000Z',
      '2030-01-01T00:02:00.000Z',
      '2030-01-01T00:03:00.000Z',
      '2030-01-01T00:04:00.000Z',
      '2030-01-01T00:05:00.000Z',
    ]);
    expect(jobs[0]).toMatchObject({ type: 'report', payload: { kind: 'usage' }, meta: { schedule: 'every-minute' } });
  });

  it('fires missed ticks once on catch-up, then continues from the next future tick', async () => {
    const store = manualBackend('2030-01-01T00:00:30Z');
    const scheduler = schedulerFor(store.backend);
    await scheduler.schedule('m', '* * * * *', { queue: 'q', type: 't' });
    store.set('2030-01-01T00:10:15Z'); // ten ticks missed while down
    expect(await scheduler.tick()).toBe(1);
    expect(await scheduler.tick()).toBe(0);
    const [definition] = await scheduler.list();
    expect(definition?.lastFiredAt).toBe(Date.parse('2030-01-01T00:01:00Z'));
    expect(definition?.nextRunAt).toBe(Date.parse('2030-01-01T00:11:00Z'));
    store.set('2030-01-01T00:11:00Z');
    expect(await scheduler.tick()).toBe(1);
    expect(await jobsIn(store.backend, 'q')).toHaveLength(2);
  });

  it('keeps the pending tick when an unchanged schedule is declared again (a restart)', async () => {
    const store = manualBackend('2030-01-01T00:00:30Z');
    await schedulerFor(store.backend).schedule('m', '* * * * *', { queue: 'q', type: 't' });
    store.set('2030-01-01T00:03:10Z');
    const restarted = schedulerFor(store.backend);
    const saved = await restarted.schedule('m', '* * * * *', { queue: 'q', type: 't' });
    expect(saved.nextRunAt).toBe(Date.parse('2030-01-01T00:01:00Z'));
    expect(await restarted.tick()).toBe(1);
    // A changed expression starts over from the next tick of the new one.
    const changed = await restarted.schedule('m', '0 * * * *', { queue: 'q', type: 't' });
    expect(changed.nextRunAt).toBe(Date.parse('2030-01-01T01:00:00Z'));
  });

  it('reads the cron expression in the schedule time zone', async () => {
    const store = manualBackend('2030-06-01T00:00:00Z');
    const scheduler = schedulerFor(store.backend);
    const saved = await scheduler.schedule('tokyo-9am', '0 9 * * *', { queue: 'q', type: 't', timezone: 'Asia/Tokyo' });
    expect(new Date(saved.nextRunAt ?? 0).toISOString()).toBe('2030-06-02T00:00:00.000Z');
    const paris = await scheduler.schedule('paris-9am', '0 9 * * *', {
      queue: 'q',
      type: 't',
      timezone: 'Europe/Paris',
    });
    expect(new Date(paris.nextRunAt ?? 0).toISOString()).toBe('2030-06-01T07:00:00.000Z'); // CEST, UTC+2
  });

  it('does not fire a paused schedule, and unschedule removes it', async () => {
    const store = manualBackend('2030-01-01T00:00:30Z');
    const scheduler = schedulerFor(store.backend);
    await scheduler.schedule('p', '* * * * *', { queue: 'q', type: 't', paused: true });
    store.set('2030-01-01T00:05:00Z');
    expect(await scheduler.tick()).toBe(0);
    expect(await scheduler.unschedule('p')).toBe(true);
    expect(await scheduler.unschedule('p')).toBe(false);
  });

  it('runs on its own timer after start(), publishes job.enqueued, and close() leaves no timer', async () => {
    const before = pendingTimers();
    const backend = createMemoryBackend();
    const events = collectEvents(backend);
    const scheduler = schedulerFor(backend, 50);
    await scheduler.schedule('every-second', '* * * * * *', { queue: 'ticks', type: 'tick' });
    await scheduler.start();
    await waitFor(async () => (await jobsIn(backend, 'ticks')).length >= 1, 3000);
    await scheduler.close();
    const count = (await jobsIn(backend, 'ticks')).length;
    expect(events.filter((e) => e.type === 'job.enqueued' && e.queue === 'ticks')).toHaveLength(count);
    expect(pendingTimers()).toBeLessThanOrEqual(before);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await jobsIn(backend, 'ticks')).length).toBe(count);
    await expect(scheduler.start()).rejects.toThrow(/closed/);
  });
});
