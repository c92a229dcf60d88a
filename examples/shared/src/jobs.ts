import { type Backend, type JobHandler, Queue, Scheduler, UnrecoverableError, Worker } from '@conveyor/core';

/** The job types of the examples, by queue: what a small SaaS sends through a queue every day. */
export type EmailJobs = {
  'send-welcome': { to: string; name: string };
  'send-invoice': { to: string; invoiceId: string; amountCents: number };
};
export type ReportJobs = {
  'generate-report': { accountId: string; month: string; rows: number };
  'nightly-cleanup': { olderThanDays: number };
};
export type WebhookJobs = {
  'deliver-webhook': { url: string; event: string; body: Record<string, unknown> };
};

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

/** Handlers with realistic latencies and failure modes (timeouts, flaky endpoints, bad input). */
export const handlers = {
  emails: {
    'send-welcome': (async (job, { signal }) => {
      await sleep(50 + Math.random() * 200, signal);
      if (Math.random() < 0.08) throw new Error('SMTP 421: service not available, try again later');
      return { messageId: `msg_${job.id.slice(0, 8)}` };
    }) as JobHandler<EmailJobs['send-welcome']>,
    'send-invoice': (async (job, { signal }) => {
      await sleep(80 + Math.random() * 150, signal);
      if (!job.payload.to.includes('@')) throw new UnrecoverableError(`invalid recipient ${job.payload.to}`);
      return { sent: true };
    }) as JobHandler<EmailJobs['send-invoice']>,
  },
  reports: {
    'generate-report': (async (job, { signal, updateProgress }) => {
      const steps = 5;
      for (let i = 1; i <= steps; i++) {
        await sleep(150 + Math.random() * 250, signal);
        await updateProgress(Math.round((i / steps) * 100));
      }
      return { url: `https://reports.example.com/${job.payload.accountId}/${job.payload.month}.pdf` };
    }) as JobHandler<ReportJobs['generate-report']>,
    'nightly-cleanup': (async (_job, { signal }) => {
      await sleep(300, signal);
      return { removed: Math.floor(Math.random() * 500) };
    }) as JobHandler<ReportJobs['nightly-cleanup']>,
  },
  webhooks: {
    'deliver-webhook': (async (job, { signal }) => {
      await sleep(20 + Math.random() * 400, signal);
      const roll = Math.random();
      if (roll < 0.15) {
        const error = new Error(`POST ${job.payload.url} answered 503 Service Unavailable`) as Error & { code: string };
        error.code = 'HTTP_503';
        throw error;
      }
      if (roll < 0.18) throw new Error(`connect ETIMEDOUT ${new URL(job.payload.url).host}:443`);
      return { status: 200 };
    }) as JobHandler<WebhookJobs['deliver-webhook']>,
  },
};

/** The queues and a worker per queue, sharing one backend. */
export interface ExampleRuntime {
  emails: Queue<EmailJobs>;
  reports: Queue<ReportJobs>;
  webhooks: Queue<WebhookJobs>;
  workers: Worker[];
  scheduler: Scheduler<ReportJobs>;
  close(): Promise<void>;
}

/** Start workers for every example queue and a recurring nightly cleanup. */
export async function startRuntime(backend: Backend): Promise<ExampleRuntime> {
  const emails = new Queue<EmailJobs>('emails', { backend });
  const reports = new Queue<ReportJobs>('reports', { backend });
  const webhooks = new Queue<WebhookJobs>('webhooks', { backend });
  const workers = [
    new Worker<EmailJobs>('emails', handlers.emails, { backend, concurrency: 10 }),
    new Worker<ReportJobs>('reports', handlers.reports, { backend, concurrency: 2 }),
    new Worker<WebhookJobs>('webhooks', handlers.webhooks, { backend, concurrency: 20 }),
  ] as Worker[];
  for (const worker of workers) await worker.start();
  const scheduler = new Scheduler<ReportJobs>({ backend });
  await scheduler.schedule('nightly-cleanup', '0 3 * * *', {
    queue: 'reports',
    type: 'nightly-cleanup',
    payload: { olderThanDays: 30 },
    timezone: 'Europe/Paris',
  });
  await scheduler.schedule('hourly-usage-report', '*/1 * * * *', {
    queue: 'reports',
    type: 'generate-report',
    payload: { accountId: 'acme', month: 'current', rows: 1200 },
  });
  await scheduler.start();
  return {
    emails,
    reports,
    webhooks,
    workers,
    scheduler,
    async close() {
      await scheduler.close();
      await Promise.all(workers.map((w) => w.close({ timeoutMs: 5_000 })));
    },
  };
}

const NAMES = ['Ada', 'Grace', 'Linus', 'Margaret', 'Barbara', 'Ken', 'Edsger', 'Frances', 'Donald', 'Radia'];
const EVENTS = ['order.created', 'order.paid', 'invoice.sent', 'user.signed_up', 'subscription.renewed'];

/**
 * Enqueue a realistic mix every `everyMs`: welcome emails, invoices (a few with a bad address), webhooks to flaky
 * endpoints (retried with exponential backoff), reports (some delayed). Returns the function that stops it.
 */
export function startGenerator(runtime: ExampleRuntime, everyMs = 700): () => void {
  let n = 0;
  const tick = async () => {
    n++;
    const name = pick(NAMES);
    await runtime.emails.enqueue('send-welcome', { to: `${name.toLowerCase()}@example.com`, name }, { maxAttempts: 4 });
    await runtime.webhooks.enqueueBulk(
      Array.from({ length: 1 + Math.floor(Math.random() * 4) }, () => ({
        type: 'deliver-webhook' as const,
        payload: {
          url: pick(['https://hooks.example.com/orders', 'https://api.partner.example/events']),
          event: pick(EVENTS),
          body: { id: `evt_${Math.random().toString(36).slice(2, 10)}`, amount: Math.round(Math.random() * 10_000) },
        },
        options: { maxAttempts: 5, backoff: { type: 'exponential' as const, delayMs: 1_000, maxDelayMs: 30_000 } },
      })),
    );
    if (n % 3 === 0) {
      const bad = Math.random() < 0.2;
      await runtime.emails.enqueue('send-invoice', {
        to: bad ? 'not-an-address' : `${name.toLowerCase()}@example.com`,
        invoiceId: `inv_${1000 + n}`,
        amountCents: Math.round(Math.random() * 50_000),
      });
    }
    if (n % 5 === 0) {
      await runtime.reports.enqueue(
        'generate-report',
        { accountId: `acct_${n % 7}`, month: '2026-10', rows: 5_000 + n },
        { delayMs: Math.random() < 0.5 ? 15_000 : 0, uniqueKey: `report:acct_${n % 7}` },
      );
    }
  };
  const timer = setInterval(() => {
    tick().catch(() => {});
  }, everyMs);
  tick().catch(() => {});
  return () => clearInterval(timer);
}
