/** The frame around every page: skip link, header with navigation and live status, toasts. */
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Toast } from '../hooks';
import { useApp } from '../hooks';
import type { LiveMode } from '../live';

const NAV: { id: string; label: string; href: string }[] = [
  { id: '', label: 'Overview', href: '#/' },
  { id: 'queues', label: 'Queues', href: '#/queues' },
  { id: 'jobs', label: 'Jobs', href: '#/jobs' },
  { id: 'workers', label: 'Workers', href: '#/workers' },
  { id: 'executions', label: 'Executions', href: '#/executions' },
];

const MODE_TEXT: Record<LiveMode, { label: string; title: string }> = {
  connecting: { label: 'Connecting', title: 'Opening the live event stream.' },
  sse: { label: 'Live', title: 'Updates stream from the server as they happen.' },
  polling: { label: 'Polling', title: 'The event stream is unavailable; checking for changes every few seconds.' },
  paused: { label: 'Paused', title: 'Updates pause while this tab is hidden.' },
  offline: { label: 'Offline', title: 'The server does not answer; retrying.' },
};

function LiveIndicator(): JSX.Element {
  const { live } = useApp();
  const [mode, setMode] = useState<LiveMode>(live.mode);
  useEffect(() => {
    setMode(live.mode);
    return live.onModeChange(setMode);
  }, [live]);
  const text = MODE_TEXT[mode];
  return (
    <span class={`live live-${mode}`} title={text.title} role="status" aria-label={`Live updates: ${text.label}`}>
      <span class="live-dot" aria-hidden="true" />
      {text.label}
    </span>
  );
}

export function Layout({
  title,
  section,
  toasts,
  onDismiss,
  children,
}: {
  title: string;
  section: string;
  toasts: Toast[];
  onDismiss: (id: number) => void;
  children: ComponentChildren;
}): JSX.Element {
  const { readOnly } = useApp();
  return (
    <>
      {/* A button, not `href="#main"`: the hash is the router's. */}
      <button type="button" class="skip-link" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="topbar">
        <a class="brand" href="#/">
          <span class="brand-mark" aria-hidden="true" />
          {title}
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.id}>
                <a href={item.href} aria-current={section === item.id ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="topbar-end">
          {readOnly && (
            <span class="badge badge-readonly" title="Actions are hidden: this dashboard is read-only.">
              read-only
            </span>
          )}
          <LiveIndicator />
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <div class="toasts" aria-live="polite" aria-atomic="false">
        {toasts.map((toast) => (
          <div key={toast.id} class={`toast toast-${toast.kind}`} role={toast.kind === 'error' ? 'alert' : undefined}>
            <span>{toast.text}</span>
            <button type="button" class="toast-close" aria-label="Dismiss" onClick={() => onDismiss(toast.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </>
  );
}
