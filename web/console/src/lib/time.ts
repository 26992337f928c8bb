// Human-readable times for the inbox. Pure functions of (timestamp, now) so they are easy to
// test and re-render with a ticking clock.

/** "45s", "2m", "1h 5m", "3d" — how long something has lasted. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** Waiting time label from `awaiting_since`, e.g. "waiting 2m". */
export function waitingLabel(awaitingSince: string, now: number): string {
  return `waiting ${formatDuration(now - Date.parse(awaitingSince))}`;
}

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** Compact last-activity label for list rows: "now", "5m", "3h", "Yesterday", "Mon", "Nov 3". */
export function activityLabel(iso: string, now: number): string {
  const t = Date.parse(iso);
  const diff = now - t;
  if (diff < 60_000) return 'now';
  if (diff < 3_600_000) return `${Math.floor(diff / 60_000)}m`;
  const d = new Date(t);
  const n = new Date(now);
  if (sameDay(d, n)) return `${Math.floor(diff / 3_600_000)}h`;
  const yesterday = new Date(n);
  yesterday.setDate(n.getDate() - 1);
  if (sameDay(d, yesterday)) return 'Yesterday';
  if (diff < 6 * 86_400_000) return d.toLocaleDateString(undefined, { weekday: 'short' });
  if (d.getFullYear() === n.getFullYear()) return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

/** "14:05" */
export function clockTime(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** Day separator in a chat: "Today", "Yesterday", "Monday, November 3". */
export function dayLabel(iso: string, now: number): string {
  const d = new Date(iso);
  const n = new Date(now);
  if (sameDay(d, n)) return 'Today';
  const y = new Date(n);
  y.setDate(n.getDate() - 1);
  if (sameDay(d, y)) return 'Yesterday';
  return d.toLocaleDateString(undefined, {
    weekday: 'long',
    month: 'long',
    day: 'numeric',
    year: d.getFullYear() === n.getFullYear() ? undefined : 'numeric',
  });
}

export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** Full timestamp for tooltips and the details panel. */
export function fullTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
