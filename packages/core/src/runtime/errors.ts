import { ConveyorError, conveyorMessage } from '../contracts/errors';
import type { JobError } from '../contracts/job';

/** Turn anything a handler threw into the serialisable shape stored on jobs and execution records. */
export function toJobError(error: unknown): JobError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      message: error.message,
      code: typeof code === 'string' ? code : typeof code === 'number' ? String(code) : error.name,
      stack: error.stack ?? null,
    };
  }
  let message: string;
  try {
    message = typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
  } catch {
    message = String(error);
  }
  return { message: `Non-error thrown: ${message}`, code: null, stack: null };
}

/** A runtime error with a stable code and the `[conveyor] [component]` prefix. */
export function runtimeError(
  code: ConveyorError['code'],
  component: string,
  sentence: string,
  options: { cause?: unknown; details?: unknown } = {},
): ConveyorError {
  return new ConveyorError(code, conveyorMessage(component, sentence), options);
}
