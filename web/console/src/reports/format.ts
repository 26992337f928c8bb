// Display helpers for session records.
import type { RecordContact } from '../api/reports';

/** First response time: "—" without one, "0.4s", "42s", "3m 05s", "1h 02m", "2d 3h". */
export function formatFirstResponse(secs: number | null | undefined): string {
  if (secs === null || secs === undefined || !Number.isFinite(secs) || secs < 0) return '—';
  if (secs < 10) return `${(Math.round(secs * 10) / 10).toString()}s`;
  const s = Math.round(secs);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${pad(m % 60)}m`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** The contact as agents know it: the note name first, then the name the visitor gave. */
export function contactLabel(c: Pick<RecordContact, 'name' | 'note_name'>): string {
  return c.note_name?.trim() || c.name || 'Visitor';
}

/** Phone and e-mail, when known, for the line under the name. */
export function contactDetails(c: Pick<RecordContact, 'phone' | 'email'>): string {
  return [c.phone, c.email].filter((x): x is string => !!x && x.trim() !== '').join(' · ');
}
