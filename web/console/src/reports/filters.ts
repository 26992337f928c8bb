// The session management filter form: what the inputs hold (strings, as the browser gives
// them) and the API filter they mean. Reception times are `datetime-local` values in the
// browser's time zone, sent as RFC 3339 UTC.
import type { ReportFilter } from '../api/reports';

export type RecordTab = 'ongoing' | 'ended';

export interface FilterForm {
  /** `YYYY-MM-DDTHH:mm` or empty. */
  receivedFrom: string;
  receivedTo: string;
  /** Empty (anyone), `me`, or a user id. */
  receptionist: string;
  /** Empty (any) or a channel id. */
  channel: string;
  /** Empty (any) or a session tag id. */
  tag: string;
}

export const EMPTY_FILTER: FilterForm = { receivedFrom: '', receivedTo: '', receptionist: '', channel: '', tag: '' };

export type FilterResult = { ok: true; filter: ReportFilter } | { ok: false; error: string };

/** A `datetime-local` value as RFC 3339 UTC; null when it is not a time. */
export function localToIso(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) return null;
  const t = new Date(value); // no offset: local time
  return Number.isNaN(t.getTime()) ? null : t.toISOString();
}

/** An RFC 3339 time as a `datetime-local` value in the browser's time zone (minutes). */
export function isoToLocal(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** The filter of the form, without status (the tabs and the summary add their own). */
export function filterFromForm(form: FilterForm): FilterResult {
  const out: ReportFilter = {};
  if (form.receivedFrom.trim()) {
    const iso = localToIso(form.receivedFrom.trim());
    if (!iso) return { ok: false, error: 'The start of the reception time is not a valid time.' };
    out.received_from = iso;
  }
  if (form.receivedTo.trim()) {
    const iso = localToIso(form.receivedTo.trim());
    if (!iso) return { ok: false, error: 'The end of the reception time is not a valid time.' };
    out.received_to = iso;
  }
  if (out.received_from && out.received_to && Date.parse(out.received_from) > Date.parse(out.received_to)) {
    return { ok: false, error: 'The reception time starts after it ends.' };
  }
  const r = form.receptionist.trim();
  if (r === 'me') out.receptionist = 'me';
  else if (/^\d+$/.test(r)) out.receptionist = Number(r);
  if (/^\d+$/.test(form.channel.trim())) out.channel = Number(form.channel.trim());
  if (/^\d+$/.test(form.tag.trim())) out.tag = Number(form.tag.trim());
  return { ok: true, filter: out };
}

/** The filter of one list tab. */
export function tabFilter(base: ReportFilter, tab: RecordTab): ReportFilter {
  return { ...base, status: tab };
}

/** Quick ranges for the reception time: today, or the last 7 / 30 days (local midnight). */
export function presetRange(preset: 'today' | '7d' | '30d', now: Date): Pick<FilterForm, 'receivedFrom' | 'receivedTo'> {
  const start = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  if (preset === '7d') start.setDate(start.getDate() - 6);
  if (preset === '30d') start.setDate(start.getDate() - 29);
  return { receivedFrom: isoToLocal(start.toISOString()), receivedTo: '' };
}
