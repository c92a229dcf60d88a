import { DashboardHttpError } from './http';

function tooLarge(maxBytes: number): DashboardHttpError {
  return new DashboardHttpError(
    'PAYLOAD_TOO_LARGE',
    `the request body is larger than ${maxBytes} bytes; nothing was changed. Send a smaller body or raise \`maxBodyBytes\`.`,
  );
}

function invalid(sentence: string): DashboardHttpError {
  return new DashboardHttpError('VALIDATION_FAILED', sentence);
}

/**
 * Read a JSON request body of at most `maxBytes`: the `Content-Length` is checked first, then bytes are counted
 * while reading (a chunked or lying client is cut off at the limit). An empty body reads as `undefined`.
 * Throws 413 `PAYLOAD_TOO_LARGE` or 400 `VALIDATION_FAILED` (not JSON, not UTF-8, wrong content type).
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const declared = request.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw tooLarge(maxBytes);
  }
  const bytes = await readLimited(request, maxBytes);
  if (bytes.byteLength === 0) return undefined;
  const contentType = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (contentType !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(contentType)) {
    throw invalid(
      `the request body must be JSON sent with \`Content-Type: application/json\` (got "${contentType.slice(0, 100) || 'none'}").`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid('the request body is not valid UTF-8. Send JSON encoded as UTF-8.');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw invalid('the request body is not valid JSON. Check the syntax (quotes, commas, brackets).');
  }
}

async function readLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  const body = request.body;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await reader.read();
      } catch {
        throw invalid('the request body could not be read to its end (the client stopped sending).');
      }
      const { done, value } = step;
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
