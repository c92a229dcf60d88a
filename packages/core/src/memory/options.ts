import type { AdapterCapabilities, Clock } from '../contracts/capabilities';
import { DEFAULT_CAPABILITIES } from '../contracts/capabilities';
import { ConveyorError, conveyorMessage } from '../contracts/errors';
import type { Logger } from '../contracts/logger';

/** Options every memory adapter accepts. */
export interface MemoryAdapterOptions {
  /**
   * Replaces the store's clock (ms). Tests pass a hand-moved clock; production code leaves it alone.
   * @default Date.now
   */
  clock?: Clock;
  /**
   * Where diagnostics go (the memory adapters never write to the console).
   * @default silentLogger
   */
  logger?: Logger;
}

/**
 * What the memory store can do. Search is a scan of one in-process index, cheap enough for the sizes a memory store
 * holds; nothing crosses a process boundary.
 */
export const MEMORY_CAPABILITIES: AdapterCapabilities = Object.freeze({
  ...DEFAULT_CAPABILITIES,
  search: true,
  crossProcessEvents: false,
  transactionalEnqueue: false,
  multiProcess: false,
  pushWakeup: false,
});

/** The component name in error messages. */
export const COMPONENT = 'memory';

export function closedError(what: string): ConveyorError {
  return new ConveyorError(
    'ADAPTER_CLOSED',
    conveyorMessage(COMPONENT, `the ${what} was closed. Create a new backend with createMemoryBackend().`),
  );
}

export function validationError(sentence: string): ConveyorError {
  return new ConveyorError('VALIDATION_FAILED', conveyorMessage(COMPONENT, sentence));
}

/** `limit` of a list query: an integer in 1–1000. */
export function checkLimit(limit: number, max = 1000): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw validationError(`limit must be an integer from 1 to ${max}, got ${String(limit)}. Pass a smaller page size.`);
  }
}
