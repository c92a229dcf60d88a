import assert from 'node:assert/strict';
import type { ConveyorEvent } from '@conveyor/core';
import { defineCheck, ensure, waitUntil } from '../harness';

let eventSeq = 0;

function event(type: ConveyorEvent['type'], data: Record<string, unknown> = {}): ConveyorEvent {
  eventSeq++;
  return {
    id: `evt-${eventSeq}`,
    type,
    timestamp: new Date(Date.UTC(2030, 0, 1, 0, 0, eventSeq % 60)).toISOString(),
    queue: 'eq',
    jobId: `job-${eventSeq}`,
    workerId: 'w-1',
    data,
  };
}

export const eventChecks = {
  subscribersReceivePublishedEvents: defineCheck(
    'events',
    'every subscriber receives each published event, in order and in the documented shape',
    async ({ backend, deliveryTimeoutMs }) => {
      const a: ConveyorEvent[] = [];
      const b: ConveyorEvent[] = [];
      const offA = backend.events.subscribe((e) => a.push(e));
      const offB = backend.events.subscribe((e) => b.push(e));
      const sent = [
        event('job.enqueued', { priority: 1 }),
        event('job.progress', { progress: { step: 2, of: 3 } }),
        event('queue.paused'),
      ];
      await backend.events.publish(sent.slice(0, 2));
      await backend.events.publish(sent.slice(2));
      await waitUntil(() => a.length >= 3 && b.length >= 3, deliveryTimeoutMs, 'both subscribers to get 3 events');
      assert.deepEqual(a, sent, 'the first subscriber got every event, unchanged and in order');
      assert.deepEqual(b, sent, 'the second subscriber too');
      offA();
      offB();
    },
  ),

  unsubscribeStopsDelivery: defineCheck(
    'events',
    'unsubscribe stops delivery and listenerCount follows subscriptions',
    async ({ backend, deliveryTimeoutMs }) => {
      const base = backend.events.listenerCount();
      const gone: ConveyorEvent[] = [];
      const kept: ConveyorEvent[] = [];
      const offGone = backend.events.subscribe((e) => gone.push(e));
      const offKept = backend.events.subscribe((e) => kept.push(e));
      assert.equal(backend.events.listenerCount(), base + 2);
      const first = event('job.started');
      await backend.events.publish([first]);
      await waitUntil(() => gone.length >= 1 && kept.length >= 1, deliveryTimeoutMs, 'the first event');
      offGone();
      offGone(); // a second call is harmless
      assert.equal(backend.events.listenerCount(), base + 1, 'one subscription left');
      const marker = event('job.completed');
      await backend.events.publish([marker]);
      // Delivery is per event: once the remaining subscriber has the marker, the removed one would have it too.
      await waitUntil(() => kept.some((e) => e.id === marker.id), deliveryTimeoutMs, 'the marker event');
      assert.deepEqual(
        gone.map((e) => e.id),
        [first.id],
        'an unsubscribed listener receives nothing more',
      );
      offKept();
      assert.equal(backend.events.listenerCount(), base, 'no listener left behind');
    },
  ),

  publishWithoutSubscribers: defineCheck(
    'events',
    'a publish with no subscriber succeeds, and publishing an empty batch is harmless',
    async ({ backend, deliveryTimeoutMs }) => {
      await backend.events.publish([event('worker.heartbeat')]);
      await backend.events.publish([]);
      const got: ConveyorEvent[] = [];
      const off = backend.events.subscribe((e) => got.push(e));
      const later = event('worker.stopped');
      await backend.events.publish([later]);
      await waitUntil(() => got.length >= 1, deliveryTimeoutMs, 'the event published after subscribing');
      ensure(
        got.every((e) => e.type !== 'worker.heartbeat'),
        'a subscriber receives events from now on, not ones published before it subscribed',
      );
      off();
    },
  ),
};
