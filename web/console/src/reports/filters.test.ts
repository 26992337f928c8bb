import { describe, expect, it } from 'vitest';
import { csvUrl, reportQuery } from '../api/reports';
import { EMPTY_FILTER, filterFromForm, isoToLocal, localToIso, presetRange, tabFilter } from './filters';

describe('session management filters', () => {
  it('turns the form into the API filter and query string', () => {
    const from = localToIso('2026-11-01T00:00')!;
    const to = localToIso('2026-11-24T18:30')!;
    expect(from).toBe(new Date(2026, 10, 1, 0, 0).toISOString());
    const r = filterFromForm({ receivedFrom: '2026-11-01T00:00', receivedTo: '2026-11-24T18:30', receptionist: '5', channel: '2', tag: '' });
    expect(r).toEqual({ ok: true, filter: { received_from: from, received_to: to, receptionist: 5, channel: 2 } });
    if (!r.ok) return;
    const q = new URLSearchParams(reportQuery(tabFilter(r.filter, 'ongoing'), { cursor: 'abc_1', limit: 50 }));
    expect([...q.keys()]).toEqual(['received_from', 'received_to', 'receptionist', 'status', 'channel', 'cursor', 'limit']);
    expect(q.get('received_from')).toBe(from);
    expect(q.get('status')).toBe('ongoing');
    // `+` of an offset would be a space unencoded: UTC `Z` times and URLSearchParams avoid it.
    expect(reportQuery({ received_from: '2026-11-01T00:00:00+01:00' })).toBe('received_from=2026-11-01T00%3A00%3A00%2B01%3A00');
  });

  it('leaves out empty values and understands "me"', () => {
    expect(filterFromForm(EMPTY_FILTER)).toEqual({ ok: true, filter: {} });
    expect(reportQuery({})).toBe('');
    const r = filterFromForm({ ...EMPTY_FILTER, receptionist: 'me' });
    expect(r.ok && reportQuery(tabFilter(r.filter, 'ended'))).toBe('receptionist=me&status=ended');
    expect(csvUrl(7, { receptionist: 'me', status: 'ended' })).toBe('/api/projects/7/reports/sessions.csv?receptionist=me&status=ended');
    expect(csvUrl(7, {})).toBe('/api/projects/7/reports/sessions.csv');
  });

  it('filters by channel and session tag ids', () => {
    const r = filterFromForm({ ...EMPTY_FILTER, channel: '3', tag: '12' });
    expect(r).toEqual({ ok: true, filter: { channel: 3, tag: 12 } });
    expect(r.ok && reportQuery(r.filter)).toBe('channel=3&tag=12');
    expect(filterFromForm({ ...EMPTY_FILTER, tag: 'x' })).toEqual({ ok: true, filter: {} });
  });

  it('refuses a window that ends before it starts, and nonsense times', () => {
    expect(filterFromForm({ ...EMPTY_FILTER, receivedFrom: '2026-11-24T10:00', receivedTo: '2026-11-23T10:00' })).toEqual({
      ok: false,
      error: 'The reception time starts after it ends.',
    });
    expect(filterFromForm({ ...EMPTY_FILTER, receivedTo: 'yesterday' }).ok).toBe(false);
    expect(localToIso('2026-13-45T10:00')).toBeNull();
  });

  it('round-trips local times and offers quick ranges', () => {
    expect(isoToLocal(localToIso('2026-11-24T07:05')!)).toBe('2026-11-24T07:05');
    expect(presetRange('today', new Date(2026, 10, 24, 15, 30))).toEqual({ receivedFrom: '2026-11-24T00:00', receivedTo: '' });
    expect(presetRange('7d', new Date(2026, 10, 24, 15, 30)).receivedFrom).toBe('2026-11-18T00:00');
  });
});
