/**
 * A store with something in every state, made by the real runtime (Queue + Worker), so the executions, metrics and
 * worker records the dashboard shows are the ones production would write. Also holds the hostile and huge jobs the
 * browser tests look at.
 */
import { type Backend, Queue, UnrecoverableError, Worker } from '@conveyor/core';

/** A job type, payload and error message written to run script if the UI ever rendered them as HTML. */
export const XSS = {
  type: `<img src=x onerror="window.__xss='type'">`,
  payload: { html: `<script>window.__xss='payload'</script>`, svg: `<svg onload="window.__xss='svg'"></svg>` },
  message: `<img src=y onerror="window.__xss='error'"><b id="injected">bold?</b>`,
};

/** Bytes of the huge payload; the queue holding it allows this much. */
export const HUGE_PAYLOAD_BYTES = 5 * 1024 * 1024;
/** Lines of the huge stack. */
export const HUGE_STACK_LINES = 10_000;

export interface Seeded {
  /** A `failed` job with an ordinary error. */
  failedId: string;
  /** A `failed` job whose type, payload and error are XSS attempts. */
  xssId: string;
  /** A `failed` job with a 5 MB payload and a 10,000-line stack. */
  hugeId: string;
  /** A `scheduled` job. */
  scheduledId: string;
  /** A `waiting` job in the paused `reports` queue. */
  waitingId: string;
  /** A worker left running (idle) so the workers page has an active one. */
  idleWorker: Worker;
  queues: Queue[];
}

function hugeStack(): string {
  const lines = ['Error: the report renderer ran out of patience'];
  for (let i = 1; i < HUGE_STACK_LINES; i++)
    lines.push(`    at frame${i} (/srv/app/renderer/deep/module-${i % 97}.js:${i}:${i % 80})`);
  return lines.join('\n');
}

async function settle(backend: Backend, queues: string[]): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const counts = await backend.queue.counts();
    const busy = queues.some((name) => {
      const c = counts[name];
      return c !== undefined && (c.waiting > 0 || c.active > 0 || c.retrying > 0);
    });
    if (!busy) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('seed: jobs did not settle within 10 s');
}

/** Fill `backend`. Call `idleWorker.close()` and each queue's `close()` when done. */
export async function seedStore(backend: Backend): Promise<Seeded> {
  const emails = new Queue('emails', { backend });
  const billing = new Queue('billing', { backend, maxPayloadBytes: HUGE_PAYLOAD_BYTES + 1024 * 1024 });
  const reports = new Queue('reports', { backend });
  const fast = { backoff: { type: 'fixed' as const, delayMs: 5 } };

  for (let i = 0; i < 24; i++) {
    await emails.enqueue(
      'send-welcome',
      { to: `user${i}@example.com`, template: 'welcome', locale: i % 2 ? 'en' : 'fr' },
      fast,
    );
  }
  for (let i = 0; i < 6; i++)
    await emails.enqueue(
      'send-digest',
      { to: `team${i}@example.com`, flaky: i % 3 === 0 },
      { ...fast, maxAttempts: 2 },
    );
  const failed = await billing.enqueue(
    'charge-card',
    { customerId: 'cus_42', amountCents: 1999, currency: 'EUR' },
    { ...fast, maxAttempts: 3 },
  );
  const xss = await emails.enqueue(XSS.type, XSS.payload, { ...fast, maxAttempts: 1 });
  const big = 'x'.repeat(1024);
  const rows = Array.from({ length: Math.floor(HUGE_PAYLOAD_BYTES / 1100) }, (_, i) => ({ row: i, data: big }));
  const huge = await billing.enqueue('import-ledger', { rows }, { ...fast, maxAttempts: 1 });
  await billing.enqueue('refund', { chargeId: 'ch_1' }, fast);
  const scheduled = await billing.enqueue('send-invoice', { invoice: 'INV-2024-001' }, { delayMs: 3_600_000 });
  const cancelled = await billing.enqueue('send-invoice', { invoice: 'INV-2024-000' }, { delayMs: 3_600_000 });
  await billing.cancel(cancelled.job.id);

  const worker = new Worker(
    ['emails', 'billing'],
    async (job, ctx) => {
      await new Promise((resolve) =>
        setTimeout(resolve, 2 + (job.payload && typeof job.payload === 'object' && 'to' in job.payload ? 8 : 20)),
      );
      switch (job.type) {
        case 'charge-card': {
          const error = new Error('card_declined: the issuer refused the charge (insufficient funds)');
          Object.assign(error, { code: 'CARD_DECLINED' });
          throw error;
        }
        case 'import-ledger': {
          const error = new Error('ledger import failed at row 4711: duplicate entry');
          error.stack = hugeStack();
          throw error;
        }
        case XSS.type:
          throw new UnrecoverableError(XSS.message);
        case 'send-digest':
          if ((job.payload as { flaky: boolean }).flaky && ctx.attempt < 3)
            throw new Error('SMTP 421: try again later');
          return { delivered: true };
        default:
          return { delivered: true, messageId: `msg-${job.id.slice(0, 8)}` };
      }
    },
    { backend, concurrency: 4, pollIntervalMs: 20, workerId: 'seed-worker-1', ackDelayMs: 0 },
  );
  await worker.start();
  await settle(backend, ['emails', 'billing']);
  await worker.close();

  await reports.pause();
  const waiting = await reports.enqueue('render-report', { reportId: 'r-1', format: 'pdf' });
  await reports.enqueue('render-report', { reportId: 'r-2', format: 'csv' });

  const idleWorker = new Worker(['reports'], async () => ({ ok: true }), {
    backend,
    concurrency: 2,
    pollIntervalMs: 200,
    workerId: 'reports-worker',
  });
  await idleWorker.start();

  return {
    failedId: failed.job.id,
    xssId: xss.job.id,
    hugeId: huge.job.id,
    scheduledId: scheduled.job.id,
    waitingId: waiting.job.id,
    idleWorker,
    queues: [emails, billing, reports],
  };
}
