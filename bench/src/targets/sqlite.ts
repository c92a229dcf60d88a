import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteBackend } from '@conveyor/sqlite';
import type { BenchTargetFactory } from '../types';
import { conveyorTarget } from './conveyor';

/** Conveyor on SQLite: a fresh WAL file in a temp directory per run, the same kind of file the plainjob target uses. */
const factory: BenchTargetFactory = () => {
  let dir = '';
  return conveyorTarget('conveyor-sqlite', {
    open: () => {
      dir = mkdtempSync(join(tmpdir(), 'conveyor-bench-sqlite-'));
      return createSqliteBackend({ connection: join(dir, 'queue.db') });
    },
    cleanup: () => {
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    },
  });
};
export default factory;
