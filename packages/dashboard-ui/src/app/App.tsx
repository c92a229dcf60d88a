/** The root component: context, routing and the confirm dialog. */
import type { JSX } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ApiClient } from './api';
import { ConfirmDialog } from './components/ConfirmDialog';
import { Layout } from './components/Layout';
import { AppContext, type AppContextValue, type ConfirmRequest, type Toast } from './hooks';
import type { LiveHub } from './live';
import { ExecutionsPage } from './pages/Executions';
import { JobDetailPage } from './pages/JobDetail';
import { JobsPage } from './pages/Jobs';
import { NotFoundPage } from './pages/NotFound';
import { OverviewPage } from './pages/Overview';
import { QueueDetailPage } from './pages/QueueDetail';
import { QueuesPage } from './pages/Queues';
import { WorkersPage } from './pages/Workers';
import { type Route, useRoute } from './router';

/** How long a toast stays, by kind. */
const TOAST_MS = { success: 4000, error: 10_000 };

function page(route: Route): { section: string; name: string; element: JSX.Element } {
  const [first, second, ...rest] = route.segments;
  if (rest.length > 0) return { section: '', name: 'Not found', element: <NotFoundPage /> };
  switch (first) {
    case undefined:
      return { section: '', name: 'Overview', element: <OverviewPage params={route.params} /> };
    case 'queues':
      return second === undefined
        ? { section: 'queues', name: 'Queues', element: <QueuesPage /> }
        : { section: 'queues', name: `Queue ${second}`, element: <QueueDetailPage key={second} name={second} /> };
    case 'jobs':
      return second === undefined
        ? { section: 'jobs', name: 'Jobs', element: <JobsPage params={route.params} /> }
        : { section: 'jobs', name: `Job ${second}`, element: <JobDetailPage key={second} id={second} /> };
    case 'workers':
      return second === undefined
        ? { section: 'workers', name: 'Workers', element: <WorkersPage /> }
        : { section: '', name: 'Not found', element: <NotFoundPage /> };
    case 'executions':
      return second === undefined
        ? { section: 'executions', name: 'Executions', element: <ExecutionsPage params={route.params} /> }
        : { section: '', name: 'Not found', element: <NotFoundPage /> };
    default:
      return { section: '', name: 'Not found', element: <NotFoundPage /> };
  }
}

export function App({
  api,
  live,
  readOnly,
  title,
}: {
  api: ApiClient;
  live: LiveHub;
  readOnly: boolean;
  title: string;
}): JSX.Element {
  const route = useRoute();
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [confirmRequest, setConfirmRequest] = useState<ConfirmRequest | null>(null);
  const resolver = useRef<((confirmed: boolean) => void) | null>(null);
  const nextToast = useRef(1);

  const dismiss = useCallback((id: number) => setToasts((list) => list.filter((toast) => toast.id !== id)), []);
  const notify = useCallback(
    (kind: Toast['kind'], text: string) => {
      const id = nextToast.current++;
      setToasts((list) => [...list.slice(-4), { id, kind, text }]);
      setTimeout(() => dismiss(id), TOAST_MS[kind]);
    },
    [dismiss],
  );
  const confirm = useCallback((request: ConfirmRequest) => {
    resolver.current?.(false);
    setConfirmRequest(request);
    return new Promise<boolean>((resolve) => {
      resolver.current = resolve;
    });
  }, []);
  const closeConfirm = useCallback((confirmed: boolean) => {
    const resolve = resolver.current;
    resolver.current = null;
    setConfirmRequest(null);
    resolve?.(confirmed);
  }, []);

  const context = useMemo<AppContextValue>(
    () => ({ api, live, readOnly, confirm, notify }),
    [api, live, readOnly, confirm, notify],
  );
  const current = page(route);
  useEffect(() => {
    document.title = `${current.name} · ${title}`;
  }, [current.name, title]);

  return (
    <AppContext.Provider value={context}>
      <Layout title={title} section={current.section} toasts={toasts} onDismiss={dismiss}>
        {current.element}
      </Layout>
      <ConfirmDialog request={confirmRequest} onClose={closeConfirm} />
    </AppContext.Provider>
  );
}
