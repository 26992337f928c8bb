import { describe, expect, it } from 'vitest';
import type { NotificationSettings } from '../api/types';
import { makeOutboxRow } from '../testing/fakeApi';
import {
  describeWait,
  formFromSettings,
  isDirty,
  isEmptyPatch,
  minutesFromSecs,
  parseMinutes,
  patchFromForm,
  pollOutboxRow,
  secsFromMinutes,
  testMailText,
} from './notificationSettings';

const saved: NotificationSettings = { email_enabled: false, wait_secs: 300, include_bot_hosted: false, email_configured: true };

describe('minutes and seconds', () => {
  it('shows whole minutes as they are and other stored values as short decimals', () => {
    expect(minutesFromSecs(300)).toBe('5');
    expect(minutesFromSecs(60)).toBe('1');
    expect(minutesFromSecs(604800)).toBe('10080');
    expect(minutesFromSecs(90)).toBe('1.5');
    expect(minutesFromSecs(45)).toBe('0.75');
    expect(minutesFromSecs(20)).toBe('0.33');
    expect(minutesFromSecs(1)).toBe('0.02');
    expect(secsFromMinutes(3)).toBe(180);
  });

  it('spells a waiting time out', () => {
    expect(describeWait(300)).toBe('5 minutes');
    expect(describeWait(60)).toBe('1 minute');
    expect(describeWait(90)).toBe('1 minute 30 seconds');
    expect(describeWait(1)).toBe('1 second');
    expect(describeWait(5400)).toBe('1 hour 30 minutes');
    expect(describeWait(604800)).toBe('7 days');
    expect(describeWait(0)).toBe('0 seconds');
  });
});

describe('parseMinutes', () => {
  it('accepts whole minutes from 1 to 10080', () => {
    expect(parseMinutes('1')).toEqual({ ok: true, value: 1 });
    expect(parseMinutes(' 30 ')).toEqual({ ok: true, value: 30 });
    expect(parseMinutes('10080')).toEqual({ ok: true, value: 10080 });
  });

  it('refuses empty, fractional, out-of-range and non-numeric values with a message', () => {
    for (const bad of ['', '   ', '0', '10081', '1.5', ',5', '-3', '1e3', 'abc']) {
      const r = parseMinutes(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.error.length).toBeGreaterThan(5);
    }
    expect(parseMinutes('1.5')).toMatchObject({ error: expect.stringContaining('whole minutes') });
    expect(parseMinutes('0')).toMatchObject({ error: expect.stringContaining('from 1 to 10080 minutes') });
  });
});

describe('form → patch', () => {
  it('names only the changed fields', () => {
    const form = formFromSettings(saved);
    expect(form).toEqual({ emailEnabled: false, minutes: '5', includeBotHosted: false });
    expect(patchFromForm(form, saved)).toEqual({ ok: true, value: {} });
    expect(isEmptyPatch({})).toBe(true);
    expect(patchFromForm({ ...form, emailEnabled: true, minutes: '3' }, saved)).toEqual({ ok: true, value: { email_enabled: true, wait_secs: 180 } });
    expect(patchFromForm({ ...form, includeBotHosted: true }, saved)).toEqual({ ok: true, value: { include_bot_hosted: true } });
  });

  it('keeps a stored time that is not whole minutes when the field is left alone', () => {
    const odd = { ...saved, wait_secs: 90 };
    const form = formFromSettings(odd);
    expect(form.minutes).toBe('1.5');
    expect(patchFromForm({ ...form, emailEnabled: true }, odd)).toEqual({ ok: true, value: { email_enabled: true } });
    // Typed over: then it must be whole minutes.
    expect(patchFromForm({ ...form, minutes: '2' }, odd)).toEqual({ ok: true, value: { wait_secs: 120 } });
    expect(patchFromForm({ ...form, minutes: '2.5' }, odd).ok).toBe(false);
  });

  it('refuses an invalid waiting time and sends nothing', () => {
    const r = patchFromForm({ ...formFromSettings(saved), emailEnabled: true, minutes: '0' }, saved);
    expect(r.ok).toBe(false);
  });

  it('does not send a waiting time that is the same number written differently', () => {
    expect(patchFromForm({ ...formFromSettings(saved), minutes: '05' }, saved)).toEqual({ ok: true, value: {} });
  });

  it('tells whether the form differs from the server', () => {
    const form = formFromSettings(saved);
    expect(isDirty(form, saved)).toBe(false);
    expect(isDirty({ ...form, minutes: ' 5 ' }, saved)).toBe(false);
    expect(isDirty({ ...form, minutes: '' }, saved)).toBe(true);
    expect(isDirty({ ...form, includeBotHosted: true }, saved)).toBe(true);
  });
});

describe('the test e-mail', () => {
  it('reads "Sent" or "Failed: <last_error>" when done', () => {
    expect(testMailText(makeOutboxRow({ state: 'sent', to: 'a@example.com' }))).toMatch(/^Sent to a@example.com/);
    expect(testMailText(makeOutboxRow({ state: 'failed', last_error: 'permanent failure: 550' }))).toBe('Failed: permanent failure: 550');
    expect(testMailText(makeOutboxRow({ state: 'failed', last_error: null }))).toBe('Failed: unknown error');
    expect(testMailText(makeOutboxRow({ state: 'pending' }))).toMatch(/^Sending/);
    expect(testMailText(makeOutboxRow({ state: 'pending', last_error: 'temporary failure: 421' }))).toContain('temporary failure: 421');
    const late = testMailText(makeOutboxRow({ state: 'pending', last_error: 'connection refused' }), true);
    expect(late).toContain('connection refused');
    expect(late).not.toMatch(/sent|failed/i);
  });

  it('polls the outbox row until it is sent', async () => {
    const states = ['pending', 'pending', 'sent'] as const;
    let i = 0;
    let t = 0;
    const seen: string[] = [];
    const res = await pollOutboxRow(async (id) => makeOutboxRow({ id, state: states[i++] }), makeOutboxRow({ id: 7 }), {
      sleep: async (ms) => {
        t += ms;
      },
      now: () => t,
      intervalMs: 500,
      onRow: (r) => seen.push(r.state),
    });
    expect(res).toMatchObject({ row: { id: 7, state: 'sent' }, timedOut: false });
    expect(i).toBe(3);
    expect(t).toBe(1500);
    expect(seen).toEqual(['pending', 'pending']);
  });

  it('gives up after the time limit with the row still pending', async () => {
    let t = 0;
    let fetches = 0;
    const res = await pollOutboxRow(
      async (id) => {
        fetches++;
        return makeOutboxRow({ id, state: 'pending', last_error: 'temporary failure' });
      },
      makeOutboxRow({ id: 3 }),
      { sleep: async (ms) => void (t += ms), now: () => t, intervalMs: 1000, timeoutMs: 30_000 },
    );
    expect(res.timedOut).toBe(true);
    expect(res.row.last_error).toBe('temporary failure');
    expect(fetches).toBe(30);
    expect(t).toBe(30_000);
  });

  it('does not poll a row that is already final, and stops when cancelled', async () => {
    let fetches = 0;
    const fetch = async (id: number) => {
      fetches++;
      return makeOutboxRow({ id, state: 'pending' });
    };
    expect(await pollOutboxRow(fetch, makeOutboxRow({ state: 'failed', last_error: 'x' }))).toMatchObject({ timedOut: false, row: { state: 'failed' } });
    let cancelled = false;
    const res = await pollOutboxRow(fetch, makeOutboxRow(), {
      sleep: async () => {
        cancelled = true;
      },
      cancelled: () => cancelled,
    });
    expect(res.timedOut).toBe(false);
    expect(fetches).toBe(0);
  });
});
