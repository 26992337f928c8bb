import { describe, expect, it } from 'vitest';
import { activityLabel, formatDuration, waitingLabel } from './time';

describe('time labels', () => {
  it('formats durations compactly', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(125_000)).toBe('2m');
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(3_900_000)).toBe('1h 5m');
    expect(formatDuration(3 * 86_400_000)).toBe('3d');
    expect(formatDuration(-5)).toBe('0s');
  });

  it('says how long a visitor has waited', () => {
    const now = Date.parse('2026-11-24T10:02:30Z');
    expect(waitingLabel('2026-11-24T10:00:00Z', now)).toBe('waiting 2m');
  });

  it('labels recent activity relative to now', () => {
    const now = Date.parse('2026-11-24T15:00:00Z');
    expect(activityLabel('2026-11-24T14:59:30Z', now)).toBe('now');
    expect(activityLabel('2026-11-24T14:55:00Z', now)).toBe('5m');
  });
});
