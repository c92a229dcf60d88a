/** A job error: message and code at once, the stack collapsed and, when opened, truncated. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { formatCount, preview } from '../format';
import type { JobError } from '../types';
import { TruncatedText } from './TruncatedText';

/** Messages longer than this are shown through the truncating block too. */
const LONG_MESSAGE = 600;

function countLines(text: string): number {
  let lines = 1;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) lines += 1;
  return lines;
}

export function ErrorDetails({ error, open = false }: { error: JobError; open?: boolean }): JSX.Element {
  const [stackOpen, setStackOpen] = useState(open);
  const message = error.message ?? '';
  return (
    <div class="error-details">
      <p class="error-message">
        {error.code && <span class="error-code">{preview(error.code, 80)}</span>}
        {message.length > LONG_MESSAGE ? preview(message, LONG_MESSAGE) : message}
      </p>
      {message.length > LONG_MESSAGE && (
        <details>
          <summary>Full message</summary>
          <TruncatedText text={message} label="Error message" lines={20} />
        </details>
      )}
      {error.stack && (
        <details open={stackOpen} onToggle={(event) => setStackOpen(event.currentTarget.open)}>
          <summary>Stack trace ({formatCount(countLines(error.stack))} lines)</summary>
          {/* Rendered only while open: a closed 10,000-line stack costs nothing. */}
          {stackOpen && <TruncatedText text={error.stack} label="Stack trace" lines={30} filename="stack.txt" />}
        </details>
      )}
    </div>
  );
}
