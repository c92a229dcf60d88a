import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Queue } from '@conveyor/core';
import { createSqliteBackend } from '@conveyor/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommand, startStandaloneDashboard, UsageError } from '../src/index';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'conveyor-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('conveyor dashboard arguments', () => {
  it('reads a store, port, read-only and basic auth', () => {
    expect(
      parseCommand([
        'dashboard',
        '--sqlite',
        'jobs.db',
        '--port',
        '4000',
        '--read-only',
        '--basic-auth',
        'ops:s3:cret',
      ]),
    ).toEqual({
      store: { kind: 'sqlite', file: 'jobs.db' },
      port: 4000,
      host: '127.0.0.1',
      basePath: '',
      readOnly: true,
      basicAuth: { username: 'ops', password: 's3:cret' },
    });
  });
  it('reads Redis Cluster seed nodes and a prefix', () => {
    const command = parseCommand(['dashboard', '--redis-cluster', 'r1:7001, r2:7002', '--prefix', 'shop'], {});
    expect(command === 'help' ? command : command.store).toEqual({
      kind: 'redis-cluster',
      seeds: ['r1:7001', 'r2:7002'],
      prefix: 'shop',
    });
  });
  it.each([
    [['dashboard'], /exactly one/],
    [['dashboard', '--redis', 'redis://x', '--redis-cluster', 'r1:7001'], /exactly one/],
    [['dashboard', '--redis-cluster', 'r1:7001,,r2:7002'], /seed nodes/],
    [['dashboard', '--redis', 'redis://x', '--sqlite', 'f'], /exactly one/],
    [['dashboard', '--sqlite', 'f', '--port', 'abc'], /--port/],
    [['dashboard', '--sqlite', 'f', '--basic-auth', 'nocolon'], /user:password/],
    [['dashboard', '--sqlite', 'f', '--bogus'], /bogus/],
    [['serve'], /unknown command/],
  ])('refuses %j with a usage error', (argv, message) => {
    expect(() => parseCommand(argv, {})).toThrow(UsageError);
    expect(() => parseCommand(argv, {})).toThrow(message);
  });
});

describe('the standalone dashboard over an existing SQLite store', () => {
  it('shows the jobs an application wrote, behind basic auth', async () => {
    const file = join(dir, 'app.db');
    const app = createSqliteBackend({ connection: file });
    await new Queue('emails', { backend: app }).enqueue('welcome', { to: 'ada@example.com' });

    const running = await startStandaloneDashboard({
      store: { kind: 'sqlite', file },
      port: 0,
      host: '127.0.0.1',
      basePath: '/dashboard',
      readOnly: true,
      basicAuth: { username: 'ops', password: 'pw' },
    });
    try {
      const url = `${running.url}api/queues`;
      expect((await fetch(url)).status).toBe(401);
      const res = await fetch(url, { headers: { authorization: `Basic ${Buffer.from('ops:pw').toString('base64')}` } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: Array<{ name: string; counts: { waiting: number } }> };
      expect(body.data).toEqual([
        expect.objectContaining({ name: 'emails', counts: expect.objectContaining({ waiting: 1 }) }),
      ]);
      const pause = await fetch(`${running.url}api/queues/emails/pause`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from('ops:pw').toString('base64')}` },
      });
      expect(pause.status).toBe(403);
    } finally {
      await running.close();
      await app.queue.close();
    }
  });

  it('says so when the SQLite file does not exist, and exits non-zero', async () => {
    const cli = join(__dirname, '../src/cli.ts');
    const failure = await run(process.execPath, [
      '--conditions=source',
      '--import',
      'tsx',
      cli,
      'dashboard',
      '--sqlite',
      join(dir, 'missing.db'),
    ]).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toContain('no SQLite database');
  });

  it('prints usage and exits 2 on bad arguments', async () => {
    const cli = join(__dirname, '../src/cli.ts');
    const failure = await run(process.execPath, ['--conditions=source', '--import', 'tsx', cli, 'dashboard']).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain('Usage: conveyor dashboard');
  });
});
