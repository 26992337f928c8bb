// The Data view's time range: a preset (today, the last 7 / 30 / 90 days) or custom days. Days
// are UTC days, as the statistics actor counts them (docs/automation.md), so every range the
// console asks for is whole days and its figures exact. A preset is kept by name and turned
// into dates at each fetch: a page left open over midnight moves with the day, and `to` is
// tomorrow, so runs that start while the page is open count (live updates).

export type Preset = 'today' | '7d' | '30d' | '90d';

export const PRESETS: readonly { id: Preset; label: string; days: number }[] = [
  { id: 'today', label: 'Today', days: 1 },
  { id: '7d', label: '7 days', days: 7 },
  { id: '30d', label: '30 days', days: 30 },
  { id: '90d', label: '90 days', days: 90 },
];

/** `from` and `to` are `YYYY-MM-DD`, both days included. */
export type Range = { kind: 'preset'; preset: Preset } | { kind: 'custom'; from: string; to: string };

export const DEFAULT_RANGE: Range = { kind: 'preset', preset: '30d' };

const DAY_MS = 86_400_000;

/** The UTC day of `t` as `YYYY-MM-DD`. */
export function utcDay(t: Date | number): string {
  return new Date(typeof t === 'number' ? t : t.getTime()).toISOString().slice(0, 10);
}

/** `day` plus `n` days (UTC). */
export function addDays(day: string, n: number): string {
  return utcDay(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS);
}

export function isDay(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && utcDay(Date.parse(`${s}T00:00:00Z`)) === s;
}

export type RangeQuery = { ok: true; from: string; to: string } | { ok: false; error: string };

/** The API's [from, to) for a range, at time `now`. */
export function rangeQuery(range: Range, now: Date): RangeQuery {
  if (range.kind === 'preset') {
    const days = PRESETS.find((p) => p.id === range.preset)?.days ?? 30;
    const today = utcDay(now);
    return { ok: true, from: addDays(today, 1 - days), to: addDays(today, 1) };
  }
  if (!isDay(range.from)) return { ok: false, error: 'Pick the first day of the range.' };
  if (!isDay(range.to)) return { ok: false, error: 'Pick the last day of the range.' };
  if (range.to < range.from) return { ok: false, error: 'The range ends before it starts.' };
  return { ok: true, from: range.from, to: addDays(range.to, 1) };
}

/** The days a range covers, both included (for the inputs and the heading). */
export function rangeDays(range: Range, now: Date): { from: string; to: string } | null {
  const q = rangeQuery(range, now);
  return q.ok ? { from: q.from, to: addDays(q.to, -1) } : null;
}

/** "1 Dec 2026" or "24 Nov – 1 Dec 2026" (UTC). */
export function rangeLabel(range: Range, now: Date): string {
  const d = rangeDays(range, now);
  if (!d) return '';
  const fmt = (day: string, year: boolean) =>
    new Date(`${day}T00:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', ...(year ? { year: 'numeric' } : {}), timeZone: 'UTC' });
  if (d.from === d.to) return `${fmt(d.from, true)} (UTC)`;
  return `${fmt(d.from, d.from.slice(0, 4) !== d.to.slice(0, 4))} – ${fmt(d.to, true)} (UTC)`;
}
