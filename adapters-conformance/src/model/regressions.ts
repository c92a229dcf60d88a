import type { ModelRegression } from '../types';

/**
 * Model runs that once failed, replayed by every adapter's suite. When the model test fails, fast-check prints
 * `seed`, `path` (the counterexample path) and, for commands, a `replayPath`. Once the bug is fixed, add them here
 * with a note saying what broke, so the exact sequence runs forever after.
 */
export const MODEL_REGRESSIONS: readonly ModelRegression[] = [];
