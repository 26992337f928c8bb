import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TypingThrottle } from './typingThrottle';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('TypingThrottle', () => {
  it('says on once, refreshes while typing goes on, and off after 3 s idle', () => {
    const sent: boolean[] = [];
    const t = new TypingThrottle((on) => sent.push(on));
    t.input();
    vi.advanceTimersByTime(1000);
    t.input();
    vi.advanceTimersByTime(1000);
    t.input();
    expect(sent).toEqual([true]);
    vi.advanceTimersByTime(600);
    t.input(); // 2.6 s after the first on: refresh
    expect(sent).toEqual([true, true]);
    vi.advanceTimersByTime(2999);
    expect(t.active).toBe(true);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([true, true, false]);
    expect(t.active).toBe(false);
  });

  it('says off at once on stop, and only when it had said on', () => {
    const sent: boolean[] = [];
    const t = new TypingThrottle((on) => sent.push(on));
    t.stop();
    expect(sent).toEqual([]);
    t.input();
    t.stop();
    vi.advanceTimersByTime(5000);
    expect(sent).toEqual([true, false]);
  });
});
