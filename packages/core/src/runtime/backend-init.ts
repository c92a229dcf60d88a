import { type Backend, initBackend } from '../contracts/backend';

/**
 * One initialisation per backend object, shared by every Queue, Worker and Scheduler that uses it. A failed
 * initialisation is forgotten so the next call tries again (the store may come up later).
 */
const initialised = new WeakMap<Backend, Promise<void>>();

/** Initialise `backend` once (lazily, on first use by the runtime). */
export function ensureBackendReady(backend: Backend): Promise<void> {
  let ready = initialised.get(backend);
  if (ready === undefined) {
    ready = initBackend(backend).catch((error: unknown) => {
      initialised.delete(backend);
      throw error;
    });
    initialised.set(backend, ready);
  }
  return ready;
}
