// The Worker and Queue suites again, over a memory backend whose queue adapter declares `inlineRecords`: the
// runtime then hands records, metrics and events to each enqueue, claim and ack instead of writing them behind.
// Every assertion about history (records, metrics, events) must hold the same on both paths.
import { useInlineRecords } from './helpers';

useInlineRecords(true);
await import('./worker.test');
await import('./queue.test');
