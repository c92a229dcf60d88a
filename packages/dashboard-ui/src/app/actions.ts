/**
 * Running a mutation from a button: confirm first when destructive, one at a time per button (it is disabled while
 * running), a toast with the outcome, then the caller's refresh.
 */
import { useState } from 'preact/hooks';
import { describeError } from './api';
import { type ConfirmRequest, useApp } from './hooks';

/** One action. */
export interface ActionSpec<T> {
  /** Ask first (destructive actions). */
  confirm?: ConfirmRequest;
  run: () => Promise<T>;
  /** Toast text on success, from the answer. */
  success: (result: T) => string;
  /** Called after success (reload what changed). */
  onDone?: (result: T) => void;
}

/** `[perform, busy]`: `perform(spec)` resolves true when the action ran and succeeded. */
export function useAction(): [<T>(spec: ActionSpec<T>) => Promise<boolean>, boolean] {
  const { confirm, notify } = useApp();
  const [busy, setBusy] = useState(false);
  const perform = async <T>(spec: ActionSpec<T>): Promise<boolean> => {
    if (busy) return false;
    if (spec.confirm && !(await confirm(spec.confirm))) return false;
    setBusy(true);
    try {
      const result = await spec.run();
      notify('success', spec.success(result));
      spec.onDone?.(result);
      return true;
    } catch (error) {
      notify('error', describeError(error));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return [perform, busy];
}
