import { describe, expect, it } from 'vitest';
import { fillBuckets, niceMax } from '../src/app/components/TrendChart';
import {
  clipText,
  formatAge,
  formatDuration,
  formatPercent,
  formatRelative,
  preview,
  toDisplayText,
} from '../src/app/format';
import { href, parseHash } from '../src/app/router';

describe('clipText', () => {
  it('keeps a short text whole', () => {
    expect(clipText('a\nb', 10, 100)).toEqual({ text: 'a\nb', truncated: false, shownLines: 2, totalLines: null });
  });

  it('cuts a 10,000-line text to the first lines and counts them all on request', () => {
    const text = Array.from({ length: 10_000 }, (_, i) => `line ${i}`).join('\n');
    const clipped = clipText(text, 30, 1_000_000, true);
    expect(clipped.truncated).toBe(true);
    expect(clipped.text.split('\n')).toHaveLength(30);
    expect(clipped.totalLines).toBe(10_000);
  });

  it('cuts a single 5 MB line by characters', () => {
    const clipped = clipText('x'.repeat(5 * 1024 * 1024), 40, 16_384);
    expect(clipped.text.length).toBe(16_384);
    expect(clipped.truncated).toBe(true);
  });
});

describe('formatting', () => {
  it('formats durations at every scale', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(2400)).toBe('2.40 s');
    expect(formatDuration(185_000)).toBe('3m 05s');
    expect(formatDuration(7_800_000)).toBe('2h 10m');
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3d 4h');
  });

  it('formats rates given as 0–1', () => {
    expect(formatPercent(0.763)).toBe('76.3%');
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(null)).toBe('—');
  });

  it('formats ages and relative times', () => {
    expect(formatAge(59_000)).toBe('59s');
    expect(formatAge(3 * 3_600_000)).toBe('3h');
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(formatRelative('2024-05-01T11:58:00Z', now)).toBe('2m ago');
    expect(formatRelative('2024-05-01T13:00:00Z', now)).toBe('in 1h');
    expect(formatRelative('not a date', now)).toBe('—');
  });

  it('previews long or multi-line text on one line', () => {
    expect(preview('a\n  b')).toBe('a b');
    expect(preview('x'.repeat(500), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  it('displays any value without throwing', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(toDisplayText(cyclic)).toMatch(/^\[unserialisable: /);
    expect(toDisplayText('<b>')).toBe('<b>');
    expect(toDisplayText({ a: 1 })).toBe('{\n  "a": 1\n}');
  });
});

describe('the trend chart', () => {
  it('fills every bucket of the period, matching the server buckets by start', () => {
    const start = '2024-05-01T10:00:00.000Z';
    const now = Date.parse('2024-05-01T10:04:30.000Z');
    const bars = fillBuckets(
      [{ bucket: '2024-05-01T10:02:00.000Z', total: 5, success: 4, failed: 1 }],
      60_000,
      start,
      now,
    );
    expect(bars.map((bar) => bar.total)).toEqual([0, 0, 5, 0, 0]);
    expect(bars[2]).toMatchObject({ success: 4, failed: 1 });
  });

  it('rounds the axis up to 1, 2 or 5 × 10ⁿ', () => {
    expect([0, 3, 38, 51, 999].map(niceMax)).toEqual([1, 5, 50, 100, 1000]);
  });
});

describe('the hash router', () => {
  it('round-trips segments and parameters, ids with slashes included', () => {
    const link = href(['jobs', 'a/b c'], { state: 'failed', q: '', queue: null });
    expect(link).toBe('#/jobs/a%2Fb%20c?state=failed');
    const route = parseHash(link);
    expect(route.segments).toEqual(['jobs', 'a/b c']);
    expect(route.params.get('state')).toBe('failed');
  });

  it('survives malformed escapes', () => {
    expect(parseHash('#/jobs/%E0%A4%A').segments).toEqual(['jobs', '%E0%A4%A']);
  });
});
