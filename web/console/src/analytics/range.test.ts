import { describe, expect, it } from 'vitest';
import { addDays, isDay, rangeDays, rangeLabel, rangeQuery, utcDay } from './range';

const NOW = new Date('2026-12-01T20:30:00Z');

describe('range presets and custom days', () => {
  it('turns each preset into whole UTC days ending tomorrow (runs starting now count)', () => {
    expect(rangeQuery({ kind: 'preset', preset: 'today' }, NOW)).toEqual({ ok: true, from: '2026-12-01', to: '2026-12-02' });
    expect(rangeQuery({ kind: 'preset', preset: '7d' }, NOW)).toEqual({ ok: true, from: '2026-11-25', to: '2026-12-02' });
    expect(rangeQuery({ kind: 'preset', preset: '30d' }, NOW)).toEqual({ ok: true, from: '2026-11-02', to: '2026-12-02' });
    expect(rangeQuery({ kind: 'preset', preset: '90d' }, NOW)).toEqual({ ok: true, from: '2026-09-03', to: '2026-12-02' });
  });

  it('moves a preset with the day: the same preset asked after midnight is the next day', () => {
    expect(rangeQuery({ kind: 'preset', preset: 'today' }, new Date('2026-12-02T00:00:01Z'))).toEqual({ ok: true, from: '2026-12-02', to: '2026-12-03' });
  });

  it('takes custom days with both ends included, and says what is wrong with a bad one', () => {
    expect(rangeQuery({ kind: 'custom', from: '2026-11-01', to: '2026-11-30' }, NOW)).toEqual({ ok: true, from: '2026-11-01', to: '2026-12-01' });
    expect(rangeQuery({ kind: 'custom', from: '2026-11-05', to: '2026-11-05' }, NOW)).toEqual({ ok: true, from: '2026-11-05', to: '2026-11-06' });
    expect(rangeQuery({ kind: 'custom', from: '', to: '2026-11-05' }, NOW)).toMatchObject({ ok: false, error: expect.stringMatching(/first day/) });
    expect(rangeQuery({ kind: 'custom', from: '2026-11-05', to: '2026-02-31' }, NOW)).toMatchObject({ ok: false, error: expect.stringMatching(/last day/) });
    expect(rangeQuery({ kind: 'custom', from: '2026-11-05', to: '2026-11-04' }, NOW)).toMatchObject({ ok: false, error: expect.stringMatching(/ends before/) });
  });

  it('has day arithmetic across months and years', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(utcDay(new Date('2026-12-01T23:59:59Z'))).toBe('2026-12-01');
    expect(isDay('2026-02-29')).toBe(false);
    expect(isDay('2028-02-29')).toBe(true);
  });

  it('labels the days shown (both ends, UTC)', () => {
    expect(rangeDays({ kind: 'preset', preset: '7d' }, NOW)).toEqual({ from: '2026-11-25', to: '2026-12-01' });
    expect(rangeLabel({ kind: 'preset', preset: 'today' }, NOW)).toBe('1 Dec 2026 (UTC)');
    expect(rangeLabel({ kind: 'preset', preset: '7d' }, NOW)).toBe('25 Nov – 1 Dec 2026 (UTC)');
    expect(rangeLabel({ kind: 'custom', from: '2025-12-30', to: '2026-01-02' }, NOW)).toBe('30 Dec 2025 – 2 Jan 2026 (UTC)');
  });
});
