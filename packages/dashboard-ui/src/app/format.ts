/** Formatting for numbers, durations, times and large text. Pure functions, unit-tested in Node. */

/** `1234` → `1,234`; null → `—`. */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return Math.round(value).toLocaleString('en-US');
}

/** A 0–1 ratio (or 0–100 when `> 1`) as `99.5%`; null → `—`. */
export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const percent = value <= 1 ? value * 100 : value;
  if (percent === 100 || percent === 0) return `${percent}%`;
  return `${percent >= 99.95 ? percent.toFixed(2) : percent.toFixed(1)}%`;
}

/** Milliseconds as `850 ms`, `2.4 s`, `3m 05s`, `2h 10m`, `3d 4h`; null → `—`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const abs = Math.abs(ms);
  if (abs < 1) return `${ms.toFixed(2)} ms`;
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(abs < 10_000 ? 2 : 1)} s`;
  const totalSeconds = Math.round(abs / 1000);
  const sign = ms < 0 ? '-' : '';
  if (totalSeconds < 3600) {
    return `${sign}${Math.floor(totalSeconds / 60)}m ${String(totalSeconds % 60).padStart(2, '0')}s`;
  }
  const totalMinutes = Math.floor(totalSeconds / 60);
  if (totalMinutes < 24 * 60)
    return `${sign}${Math.floor(totalMinutes / 60)}h ${String(totalMinutes % 60).padStart(2, '0')}m`;
  const hours = Math.floor(totalMinutes / 60);
  return `${sign}${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** How long ago (or until) an ISO time was, relative to `now`: `12s ago`, `in 3m`. */
export function formatRelative(iso: string | null | undefined, now: number): string {
  if (!iso) return '—';
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return '—';
  const delta = now - time;
  if (Math.abs(delta) < 1000) return 'just now';
  const text = formatAge(Math.abs(delta));
  return delta >= 0 ? `${text} ago` : `in ${text}`;
}

/** A coarse age: `12s`, `4m`, `3h`, `2d`. */
export function formatAge(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

/** An ISO time as local `2024-05-01 13:04:05`. */
export function formatTimestamp(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** Bytes as `512 B`, `1.5 KB`, `5.0 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Any JSON value as indented text; strings stay as they are. Never throws (cycles and BigInts are described). */
export function toDisplayText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch (error) {
    return `[unserialisable: ${error instanceof Error ? error.message : String(error)}]`;
  }
}

/** The first `maxChars` characters and `maxLines` lines of a text, and whether anything was cut. */
export interface TextWindow {
  text: string;
  truncated: boolean;
  shownLines: number;
  totalLines: number | null;
}

/**
 * Cut a text to at most `maxLines` lines and `maxChars` characters, without scanning past what is shown more than
 * once (a 5 MB payload is not split into an array of lines). `totalLines` is counted only when `countLines`.
 */
export function clipText(text: string, maxLines: number, maxChars: number, countLines = false): TextWindow {
  let end = 0;
  let lines = 0;
  while (lines < maxLines && end < text.length && end < maxChars) {
    const next = text.indexOf('\n', end);
    if (next === -1) {
      end = text.length;
      lines += 1;
      break;
    }
    end = next + 1;
    lines += 1;
  }
  if (end > maxChars) end = maxChars;
  const truncated = end < text.length;
  let totalLines: number | null = null;
  if (countLines) {
    totalLines = 1;
    for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) totalLines += 1;
    if (text.endsWith('\n')) totalLines -= 1;
  }
  return { text: truncated ? text.slice(0, end).replace(/\n$/, '') : text, truncated, shownLines: lines, totalLines };
}

/** A one-line preview of at most `max` characters, for table cells. */
export function preview(text: string | null | undefined, max = 140): string {
  if (!text) return '';
  const head = text.length > max * 4 ? text.slice(0, max * 4) : text;
  const line = head.replace(/\s+/g, ' ').trim();
  return line.length > max || text.length > head.length ? `${line.slice(0, max - 1)}…` : line;
}
