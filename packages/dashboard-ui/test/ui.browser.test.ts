/**
 * The dashboard UI in headless Chromium against the real handler over a seeded memory backend: every page loads
 * without a console error or CSP violation, actions change what is on screen, hostile job data stays inert, huge
 * payloads are truncated, and screenshots land in `test-artifacts/ui/` for a person to look at.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Queue } from '@conveyor/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../scripts/build-app';
import { chromiumMissingReason, collectProblems, launchChromium } from './helpers/browser';
import { HUGE_STACK_LINES, type Seeded, seedStore, XSS } from './helpers/seed';
import { startDashboard, type TestDashboard } from './helpers/server';

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/ui/', import.meta.url));
const skipReason = chromiumMissingReason();

describe.skipIf(skipReason !== null)(skipReason ?? 'dashboard UI in headless Chromium', () => {
  let dashboard: TestDashboard;
  let readOnlyDashboard: TestDashboard;
  let seeded: Seeded;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await buildApp();
    dashboard = await startDashboard({ readOnly: false });
    seeded = await seedStore(dashboard.backend);
    readOnlyDashboard = await startDashboard({ readOnly: true, backend: dashboard.backend });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
  });

  afterAll(async () => {
    await browser?.close();
    await seeded?.idleWorker.close();
    for (const queue of seeded?.queues ?? []) await queue.close();
    await readOnlyDashboard?.close();
    await dashboard?.close();
  });

  /** Open a route of the app and wait for its heading; returns the page and the problems it reports. */
  async function open(
    route: string,
    heading: string | RegExp,
    target = dashboard,
    ctx = context,
  ): Promise<{ page: Page; problems: string[] }> {
    const page = await ctx.newPage();
    const problems = collectProblems(page);
    await page.goto(`${target.url}/#${route}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    return { page, problems };
  }

  const pages: { name: string; route: () => string; heading: () => string | RegExp; ready: string }[] = [
    { name: 'overview', route: () => '/', heading: () => 'Overview', ready: '.chart svg' },
    { name: 'queues', route: () => '/queues', heading: () => 'Queues', ready: 'table[aria-label="Queues"] tbody tr' },
    { name: 'queue-detail', route: () => '/queues/emails', heading: () => 'emails', ready: 'table tbody tr' },
    {
      name: 'jobs-failed',
      route: () => '/jobs?state=failed',
      heading: () => 'Jobs',
      ready: 'table[aria-label="Jobs"] tbody tr',
    },
    {
      name: 'job-detail',
      route: () => `/jobs/${seeded.failedId}`,
      heading: () => new RegExp(seeded.failedId.slice(0, 8)),
      ready: '.timeline-item',
    },
    {
      name: 'workers',
      route: () => '/workers',
      heading: () => 'Workers',
      ready: 'table[aria-label="Workers"] tbody tr',
    },
    { name: 'executions', route: () => '/executions', heading: () => 'Recent executions', ready: 'table tbody tr' },
  ];

  it.each(pages)(
    'the $name page loads without a console error and is screenshotted',
    async ({ name, route, heading, ready }) => {
      const { page, problems } = await open(route(), heading());
      await page.locator(ready).first().waitFor();
      await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
      await page.close();
      expect(problems).toEqual([]);
    },
  );

  it('follows the system dark mode (overview and job detail screenshotted dark)', async () => {
    const dark = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'dark' });
    try {
      const { page, problems } = await open('/', 'Overview', dashboard, dark);
      await page.locator('.chart svg').waitFor();
      const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
      expect(background).toBe('rgb(15, 19, 24)');
      await page.screenshot({ path: `${ARTIFACTS}overview-dark.png`, fullPage: true });
      await page.goto(`${dashboard.url}/#/jobs/${seeded.failedId}`);
      await page.locator('.timeline-item').first().waitFor();
      await page.screenshot({ path: `${ARTIFACTS}job-detail-dark.png`, fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await dark.close();
    }
  });

  it('retrying a failed job from its page changes its state on screen', async () => {
    const { page, problems } = await open(`/jobs/${seeded.failedId}`, new RegExp(seeded.failedId.slice(0, 8)));
    const header = page.locator('.page-header');
    await expect.poll(() => header.locator('.badge').textContent()).toBe('failed');
    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    // The reports worker does not serve `billing`, so the job stays waiting where the test can see it.
    await expect.poll(() => header.locator('.badge').textContent()).toBe('waiting');
    await expect.poll(() => page.locator('.toast').first().textContent()).toContain('queued again');
    expect((await dashboard.backend.queue.getJob(seeded.failedId))?.state).toBe('waiting');
    // Retry is gone; a waiting job offers cancel and delete instead.
    await expect.poll(() => page.getByRole('button', { name: 'Retry', exact: true }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(1);
    await page.close();
    expect(problems).toEqual([]);
  });

  it('renders hostile job type, payload and error as inert text', async () => {
    const { page, problems } = await open('/jobs?state=failed', 'Jobs');
    const row = page.locator(`tr[data-job-id="${seeded.xssId}"]`);
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe(XSS.type);
    await page.screenshot({ path: `${ARTIFACTS}xss-jobs.png` });
    await row.locator('a').first().click();
    await page.locator('.timeline-item').first().waitFor();
    await expect.poll(() => page.locator('.error-message').first().textContent()).toContain(XSS.message);
    expect(await page.locator('section[aria-label="Payload"] pre').textContent()).toContain(XSS.payload.html);
    // Nothing ran and nothing was injected: no dialog, no global, no element from the payloads.
    expect(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss)).toBeUndefined();
    expect(await page.locator('#injected, img[src="x"], img[src="y"], main script, main svg[onload]').count()).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}xss-detail.png`, fullPage: true });
    await page.close();
    expect(problems).toEqual([]);
  });

  it('truncates a 5 MB payload and a 10,000-line stack, and the page stays responsive', async () => {
    const { page, problems } = await open(`/jobs/${seeded.hugeId}`, new RegExp(seeded.hugeId.slice(0, 8)));
    const payload = page.locator('section[aria-label="Payload"]');
    await payload.waitFor();
    const shown = await payload.locator('pre').evaluate((pre) => pre.textContent?.length ?? 0);
    expect(shown).toBeGreaterThan(100);
    expect(shown).toBeLessThanOrEqual(16_384);
    expect(await payload.locator('.truncated-bar').textContent()).toMatch(/lines, .* KB of [45]\.\d MB/);
    // The last error's stack is open and shows its first lines only; the attempts' stacks stay collapsed.
    const stack = page.locator('section[aria-label="Stack trace"]').first();
    expect(await page.locator('.error-details summary').first().textContent()).toContain(
      `${HUGE_STACK_LINES.toLocaleString('en-US')} lines`,
    );
    const stackLines = await stack.locator('pre').evaluate((pre) => (pre.textContent ?? '').split('\n').length);
    expect(stackLines).toBeLessThanOrEqual(30);
    await stack.getByRole('button', { name: 'Show more' }).click();
    const moreLines = await stack.locator('pre').evaluate((pre) => (pre.textContent ?? '').split('\n').length);
    expect(moreLines).toBeGreaterThan(stackLines);
    expect(moreLines).toBeLessThan(HUGE_STACK_LINES);
    // Responsive: the main thread answers at once and the whole DOM stays small.
    const started = Date.now();
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await page.evaluate(() => document.body.textContent?.length ?? 0)).toBeLessThan(200_000);
    await page.screenshot({ path: `${ARTIFACTS}huge-job.png` });
    await page.close();
    expect(problems).toEqual([]);
  });

  it('asks in an in-page dialog before deleting, and cancelling keeps the job', async () => {
    const { page, problems } = await open(`/jobs/${seeded.scheduledId}`, new RegExp(seeded.scheduledId.slice(0, 8)));
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this job?' });
    await dialog.waitFor();
    await page.screenshot({ path: `${ARTIFACTS}confirm-delete.png` });
    // The safe choice has focus.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect((await dashboard.backend.queue.getJob(seeded.scheduledId))?.state).toBe('scheduled');
    await page.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete job' }).click();
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
    expect(await dashboard.backend.queue.getJob(seeded.scheduledId)).toBeNull();
    await page.close();
    expect(problems).toEqual([]);
  });

  it('hides every action in read-only mode', async () => {
    for (const [route, heading] of [
      [`/jobs/${seeded.xssId}`, new RegExp(seeded.xssId.slice(0, 8))],
      ['/queues', 'Queues'],
      ['/jobs?state=failed', 'Jobs'],
    ] as const) {
      const { page, problems } = await open(route, heading, readOnlyDashboard);
      await page.locator('.badge-readonly').waitFor();
      await page.locator('table, .timeline-item').first().waitFor();
      for (const name of ['Retry', 'Run now', 'Cancel', 'Delete', 'Pause', 'Resume', 'Retry failed', 'Clean…']) {
        expect(await page.getByRole('button', { name, exact: true }).count(), `${name} on ${route}`).toBe(0);
      }
      await page.close();
      expect(problems).toEqual([]);
    }
  });

  it('shows a new job without a reload, over SSE', async () => {
    const { page, problems } = await open('/jobs?queue=live-sse', 'Jobs');
    await page.locator('.live-sse').waitFor();
    await page.getByText('No jobs match.').waitFor();
    const live = new Queue('live-sse', { backend: dashboard.backend });
    const { job } = await live.enqueue('arrives-live', { n: 1 });
    await page.locator(`tr[data-job-id="${job.id}"]`).waitFor({ timeout: 10_000 });
    await live.close();
    await page.close();
    expect(problems).toEqual([]);
  });

  it('falls back to polling when the event stream is unavailable, and still updates', async () => {
    const page = await context.newPage();
    const problems = collectProblems(page);
    await page.route('**/api/events**', (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: '{"error":{"code":"UNHEALTHY","message":"no streams"}}',
      }),
    );
    await page.goto(`${dashboard.url}/#/jobs?queue=live-poll`);
    await page.locator('.live-polling').waitFor({ timeout: 10_000 });
    await page.getByText('No jobs match.').waitFor();
    const live = new Queue('live-poll', { backend: dashboard.backend });
    const { job } = await live.enqueue('arrives-by-polling', { n: 2 });
    await page.locator(`tr[data-job-id="${job.id}"]`).waitFor({ timeout: 10_000 });
    await live.close();
    await page.close();
    // The refused stream is logged by Chromium as a failed resource; nothing else may be.
    expect(problems.filter((problem) => !problem.includes('503'))).toEqual([]);
  });
});
