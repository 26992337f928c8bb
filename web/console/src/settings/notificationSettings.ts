// Rules of the "New message notification" settings form, as pure functions: minutes ↔
// seconds, validation, the form → PATCH mapping, and how an outbox row reads. The server
// stores seconds (1 to 604800); the console edits whole minutes but shows any stored value.
import type { NotificationPatch, NotificationSettings, OutboxRow } from '../api/types';

export const MIN_MINUTES = 1;
/** 604800 s, the server's limit: 7 days. */
export const MAX_MINUTES = 10080;

/** What the form edits. `minutes` is the input's text, so half-typed values survive. */
export interface NotificationForm {
  emailEnabled: boolean;
  minutes: string;
  includeBotHosted: boolean;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * The minutes to show for a stored `wait_secs`: whole minutes as they are ("5"), anything
 * else (set through the API) as a decimal with at most two places ("1.5", "0.33").
 */
export function minutesFromSecs(secs: number): string {
  if (secs % 60 === 0) return String(secs / 60);
  return String(Math.round((secs / 60) * 100) / 100);
}

export function secsFromMinutes(minutes: number): number {
  return minutes * 60;
}

const UNITS: [number, string][] = [
  [86_400, 'day'],
  [3_600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/** "5 minutes", "1 minute 30 seconds", "1 hour 30 minutes", "7 days". */
export function describeWait(secs: number): string {
  if (!Number.isFinite(secs) || secs <= 0) return '0 seconds';
  let left = Math.floor(secs);
  const parts: string[] = [];
  for (const [size, name] of UNITS) {
    const n = Math.floor(left / size);
    left -= n * size;
    if (n > 0) parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
  }
  return parts.join(' ');
}

/** The waiting time as typed: whole minutes from 1 to 10080. */
export function parseMinutes(text: string): Checked<number> {
  const t = text.trim();
  if (t === '') return { ok: false, error: 'Enter the waiting time in minutes.' };
  const range = `from ${MIN_MINUTES} to ${MAX_MINUTES} minutes (7 days)`;
  if (!/^\d+$/.test(t)) {
    return /^\d*[.,]\d+$/.test(t)
      ? { ok: false, error: `Enter whole minutes, ${range}.` }
      : { ok: false, error: `Enter the waiting time as a number, ${range}.` };
  }
  const n = Number(t);
  if (n < MIN_MINUTES || n > MAX_MINUTES) return { ok: false, error: `The waiting time must be ${range}.` };
  return { ok: true, value: n };
}

export function formFromSettings(s: NotificationSettings): NotificationForm {
  return { emailEnabled: s.email_enabled, minutes: minutesFromSecs(s.wait_secs), includeBotHosted: s.include_bot_hosted };
}

/** The form differs from what the server has (even if it is not valid yet). */
export function isDirty(form: NotificationForm, saved: NotificationSettings): boolean {
  const base = formFromSettings(saved);
  return form.emailEnabled !== base.emailEnabled || form.includeBotHosted !== base.includeBotHosted || form.minutes.trim() !== base.minutes;
}

/**
 * The PATCH that turns `saved` into `form`, naming only changed fields. A waiting time left
 * as shown is not sent, so a stored value that is not whole minutes (e.g. 90 s, shown as
 * "1.5") survives saving the switches.
 */
export function patchFromForm(form: NotificationForm, saved: NotificationSettings): Checked<NotificationPatch> {
  const patch: NotificationPatch = {};
  if (form.emailEnabled !== saved.email_enabled) patch.email_enabled = form.emailEnabled;
  if (form.includeBotHosted !== saved.include_bot_hosted) patch.include_bot_hosted = form.includeBotHosted;
  if (form.minutes.trim() !== minutesFromSecs(saved.wait_secs)) {
    const m = parseMinutes(form.minutes);
    if (!m.ok) return m;
    const secs = secsFromMinutes(m.value);
    if (secs !== saved.wait_secs) patch.wait_secs = secs;
  }
  return { ok: true, value: patch };
}

export function isEmptyPatch(p: NotificationPatch): boolean {
  return p.email_enabled === undefined && p.wait_secs === undefined && p.include_bot_hosted === undefined;
}

/** The line under "Send test e-mail": contains "Sent" or "Failed: <last_error>" when done. */
export function testMailText(row: OutboxRow, timedOut = false): string {
  switch (row.state) {
    case 'sent':
      return `Sent to ${row.to}. Check that inbox (and its spam folder).`;
    case 'failed':
      return `Failed: ${row.last_error ?? 'unknown error'}`;
    default:
      if (timedOut) {
        return `Still pending after ${Math.round(TEST_MAIL_TIMEOUT_MS / 1000)} seconds: the server keeps retrying${row.last_error ? ` (last error: ${row.last_error})` : ''}. If it gives up, the e-mail is listed under “Undelivered e-mails”.`;
      }
      return row.last_error ? `Sending… retrying after: ${row.last_error}` : `Sending to ${row.to}…`;
  }
}

export interface PollOptions {
  /** Give up (the row still pending) after this long. */
  timeoutMs?: number;
  intervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Each intermediate row, for progress. */
  onRow?: (row: OutboxRow) => void;
  /** Stop early (the page was left). */
  cancelled?: () => boolean;
}

export const TEST_MAIL_TIMEOUT_MS = 30_000;

/** Re-reads an outbox row until it is `sent` or `failed`, or the time is up (bounded). */
export async function pollOutboxRow(
  fetchRow: (id: number) => Promise<OutboxRow>,
  first: OutboxRow,
  opts: PollOptions = {},
): Promise<{ row: OutboxRow; timedOut: boolean }> {
  const timeoutMs = opts.timeoutMs ?? TEST_MAIL_TIMEOUT_MS;
  const intervalMs = opts.intervalMs ?? 500;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = opts.now ?? (() => Date.now());
  const start = now();
  let row = first;
  while (row.state === 'pending') {
    if (opts.cancelled?.()) return { row, timedOut: false };
    if (now() - start >= timeoutMs) return { row, timedOut: true };
    await sleep(Math.min(intervalMs, Math.max(0, timeoutMs - (now() - start))));
    if (opts.cancelled?.()) return { row, timedOut: false };
    row = await fetchRow(first.id);
    if (row.state === 'pending') opts.onRow?.(row);
  }
  return { row, timedOut: false };
}
