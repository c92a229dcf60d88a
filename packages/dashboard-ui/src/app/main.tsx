/** Browser entry: read the shell's config, start the live hub, render the app. */
import { render } from 'preact';
import { App } from './App';
import { ApiClient } from './api';
import { LiveHub } from './live';
import './styles.css';

interface BootConfig {
  basePath: string;
  readOnly: boolean;
  title: string;
}

function readConfig(): BootConfig {
  const element = document.getElementById('conveyor-config');
  let parsed: Partial<BootConfig> = {};
  try {
    parsed = JSON.parse(element?.textContent ?? '{}') as Partial<BootConfig>;
  } catch {
    // A broken config falls back to safe defaults: read-only at the root.
  }
  return {
    basePath: typeof parsed.basePath === 'string' ? parsed.basePath.replace(/\/+$/, '') : '',
    // Anything but an explicit `false` is read-only: the UI never shows actions it was not told it may.
    readOnly: parsed.readOnly !== false,
    title: typeof parsed.title === 'string' && parsed.title ? parsed.title : 'Conveyor',
  };
}

const config = readConfig();
const api = new ApiClient(config.basePath);
const live = new LiveHub(
  {
    createEventSource:
      typeof EventSource === 'function' ? (url) => new EventSource(url, { withCredentials: true }) : undefined,
    fetchLiveStats: async (signal) => (await api.get<unknown>('/stats/live', undefined, signal)).data,
    isHidden: () => document.visibilityState === 'hidden',
    onVisibilityChange: (listener) => {
      document.addEventListener('visibilitychange', listener);
      return () => document.removeEventListener('visibilitychange', listener);
    },
    setTimeout: (callback, ms) => window.setTimeout(callback, ms),
    clearTimeout: (handle) => window.clearTimeout(handle as number),
  },
  { eventsUrl: api.url('/events') },
);
live.start();

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App api={api} live={live} readOnly={config.readOnly} title={config.title} />, root);
}
