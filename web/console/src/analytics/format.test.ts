import { describe, expect, it } from 'vitest';
import { percent, rateWithCounts, share } from './format';

describe('rates', () => {
  it('reads as a whole percentage with the counts behind it', () => {
    expect(rateWithCounts(0.4, 2, 5)).toBe('40% (2/5)');
    expect(rateWithCounts(0.5, 1, 2)).toBe('50% (1/2)');
    expect(rateWithCounts(1, 3, 3)).toBe('100% (3/3)');
    expect(rateWithCounts(0, 0, 4)).toBe('0% (0/4)');
    expect(rateWithCounts(1 / 3, 1, 3)).toBe('33% (1/3)');
    expect(rateWithCounts(2 / 3, 2, 3)).toBe('67% (2/3)');
  });

  it('says "—" when there is nothing to divide', () => {
    expect(rateWithCounts(null, 0, 0)).toBe('— (0/0)');
    expect(percent(undefined)).toBe('—');
    expect(percent(Number.NaN)).toBe('—');
  });

  it('never rounds a little to nothing or nearly all to all', () => {
    expect(percent(1 / 2000)).toBe('<0.1%');
    expect(percent(1 / 1000)).toBe('0.1%');
    expect(percent(3 / 1000)).toBe('0.3%');
    expect(percent(999 / 1000)).toBe('99.9%');
    expect(percent(0.996)).toBe('99.6%');
  });

  it('gives bar shares clamped to 0..1', () => {
    expect(share(1, 4)).toBe(0.25);
    expect(share(3, 0)).toBe(0);
    expect(share(5, 4)).toBe(1);
  });
});
