/**
 * Large text (a 5 MB payload, a 10,000-line stack) shown as its first lines and kilobytes, with "show more" growing
 * the window in steps, "copy" and "download" for the whole. The whole text is never put in the DOM unless the user
 * asks for it step by step, so the page stays responsive. Always rendered as a text node, never as HTML.
 */
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { clipText, formatBytes, formatCount } from '../format';
import { useApp } from '../hooks';

export interface TruncatedTextProps {
  text: string;
  /** Accessible name of the block, e.g. "Payload". */
  label: string;
  /** Lines shown at first. @default 40 */
  lines?: number;
  /** Characters shown at first. @default 16384 */
  chars?: number;
  /** File name for "Download". */
  filename?: string;
}

/** Texts above this size are not scanned for their line count (it would cost more than it tells). */
const COUNT_LINES_BELOW = 20 * 1024 * 1024;

export function TruncatedText({
  text,
  label,
  lines = 40,
  chars = 16_384,
  filename = 'conveyor.txt',
}: TruncatedTextProps): JSX.Element {
  const { notify } = useApp();
  const [step, setStep] = useState(0);
  const factor = 4 ** step;
  const view = useMemo(
    () => clipText(text, lines * factor, chars * factor, text.length < COUNT_LINES_BELOW),
    [text, lines, chars, factor],
  );
  const copy = (): void => {
    navigator.clipboard.writeText(text).then(
      () => notify('success', `${label} copied (${formatBytes(text.length)}).`),
      () => notify('error', `Could not copy the ${label.toLowerCase()}: the browser refused clipboard access.`),
    );
  };
  const download = (): void => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
    const anchor = document.createElement('a');
    anchor.href = url;
    anchor.download = filename;
    anchor.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return (
    <section class="truncated" aria-label={label}>
      <pre class="code">{view.text}</pre>
      {(view.truncated || text.length > 2048) && (
        <div class="truncated-bar">
          {view.truncated ? (
            <span class="muted">
              Showing {formatCount(view.shownLines)}
              {view.totalLines !== null ? ` of ${formatCount(view.totalLines)}` : ''} lines,{' '}
              {formatBytes(view.text.length)} of {formatBytes(text.length)}.
            </span>
          ) : (
            <span class="muted">{formatBytes(text.length)}</span>
          )}
          {view.truncated && (
            <button type="button" class="btn btn-small" onClick={() => setStep(step + 1)}>
              Show more
            </button>
          )}
          {step > 0 && (
            <button type="button" class="btn btn-small btn-ghost" onClick={() => setStep(0)}>
              Show less
            </button>
          )}
          <button type="button" class="btn btn-small btn-ghost" onClick={copy}>
            Copy
          </button>
          <button type="button" class="btn btn-small btn-ghost" onClick={download}>
            Download
          </button>
        </div>
      )}
    </section>
  );
}
