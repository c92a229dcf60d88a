/**
 * Preact glue: the app context (API client, live hub, read-only flag, toasts, confirm dialog) and `useResource`, which
 * binds a {@link RequestSlot} to a component's life and to the live hub.
 */
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { ApiClient } from './api';
import type { LiveEvent, LiveHub, LiveSignal } from './live';
import { RequestSlot, type SlotState } from './request-slot';

/** A request to confirm a destructive action. */
export interface ConfirmRequest {
  title: string;
  message: string;
  confirmLabel: string;
  /** Style the confirm button as dangerous. @default true */
  danger?: boolean;
}

/** A short message in the toast area. */
export interface Toast {
  id: number;
  kind: 'success' | 'error';
  text: string;
}

/** Everything pages share. */
export interface AppContextValue {
  api: ApiClient;
  live: LiveHub;
  readOnly: boolean;
  /** Show an in-page modal; resolves true when the user confirms. */
  confirm: (request: ConfirmRequest) => Promise<boolean>;
  notify: (kind: Toast['kind'], text: string) => void;
}

export const AppContext = createContext<AppContextValue | null>(null);

/** The app context; throws when used outside `<App>`. */
export function useApp(): AppContextValue {
  const value = useContext(AppContext);
  if (!value) throw new Error('useApp() outside <AppContext.Provider>');
  return value;
}

/** Which live signals concern a resource; `false` for a resource that never refreshes by itself. */
export type LiveFilter = false | ((event: LiveEvent) => boolean);

/** A resource's state plus `reload`, for use after a mutation. */
export interface Resource<T> extends SlotState<T> {
  reload: () => void;
}

/** How a resource follows the live hub. */
export interface ResourceOptions {
  /** Which live events concern it; `false`: it never refreshes by itself. @default every event */
  live?: LiveFilter;
  /** Keep showing the previous key's data while the new key loads (filters, paging). @default false */
  keepPrevious?: boolean;
  /** Fewest milliseconds between two live refreshes. @default 1000 */
  minIntervalMs?: number;
}

/**
 * Fetch `load` whenever `key` changes (aborting the previous request) and, when `live` allows, again on live signals
 * (at most one request in flight, see {@link RequestSlot}). `load` receives the AbortSignal that fires on navigation
 * away or a new key.
 */
export function useResource<T>(
  key: string,
  load: (signal: AbortSignal) => Promise<T>,
  options: ResourceOptions = {},
): Resource<T> {
  const { live: hub } = useApp();
  const keepPrevious = options.keepPrevious ?? false;
  const minIntervalMs = options.minIntervalMs ?? 1000;
  const [state, setState] = useState<SlotState<T>>({ data: undefined, error: undefined, loading: true });
  const loadRef = useRef(load);
  loadRef.current = load;
  const liveRef = useRef<LiveFilter>(options.live ?? (() => true));
  liveRef.current = options.live ?? (() => true);
  const slotRef = useRef<RequestSlot<T> | null>(null);
  const previous = useRef<T | undefined>(undefined);

  useEffect(() => {
    if (!keepPrevious) setState({ data: undefined, error: undefined, loading: true });
    const slot = new RequestSlot<T>(
      (signal) => loadRef.current(signal),
      (next) => {
        if (next.data !== undefined) previous.current = next.data;
        setState(keepPrevious && next.data === undefined ? { ...next, data: previous.current } : next);
      },
      minIntervalMs,
    );
    slotRef.current = slot;
    slot.reload();
    const unsubscribe = hub.subscribe((signal: LiveSignal) => {
      const filter = liveRef.current;
      if (filter === false) return;
      if (signal.kind === 'event' && !filter(signal.event)) return;
      slot.request();
    });
    return () => {
      unsubscribe();
      slot.dispose();
      if (slotRef.current === slot) slotRef.current = null;
    };
  }, [key, hub, keepPrevious, minIntervalMs]);

  return { ...state, reload: () => slotRef.current?.reload() };
}

/** Re-render every `ms` (for "3 s ago" labels); stops while unmounted. */
export function useNow(ms = 5000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const handle = setInterval(() => {
      if (!document.hidden) setNow(Date.now());
    }, ms);
    return () => clearInterval(handle);
  }, [ms]);
  return now;
}
