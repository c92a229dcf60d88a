/**
 * The in-page confirmation for destructive actions, on the native `<dialog>` element: `showModal()` makes the rest of
 * the page inert, traps focus and closes on Escape, which `window.confirm` would give too but cannot be styled or
 * tested, and blocks the page's timers.
 */
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { ConfirmRequest } from '../hooks';

export function ConfirmDialog({
  request,
  onClose,
}: {
  request: ConfirmRequest | null;
  onClose: (confirmed: boolean) => void;
}): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (request && !dialog.open) {
      dialog.showModal();
      // The safe choice takes focus, so Enter does not destroy anything by accident.
      cancelRef.current?.focus();
    } else if (!request && dialog.open) {
      dialog.close();
    }
  }, [request]);
  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-message"
      onCancel={(event) => {
        event.preventDefault();
        onClose(false);
      }}
    >
      {request && (
        <form
          method="dialog"
          onSubmit={(event) => {
            event.preventDefault();
            onClose(true);
          }}
        >
          <h2 id="confirm-title">{request.title}</h2>
          <p id="confirm-message">{request.message}</p>
          <div class="dialog-actions">
            <button type="button" class="btn" ref={cancelRef} onClick={() => onClose(false)}>
              Cancel
            </button>
            <button type="submit" class={`btn ${request.danger === false ? 'btn-primary' : 'btn-danger'}`}>
              {request.confirmLabel}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
