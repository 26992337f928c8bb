import { describe, it, expect, vi, afterEach } from 'vitest';
import { TypingSender } from './typing';

afterEach(() => vi.useRealTimers());

describe('typing', () => {
  it('sends on at most every 2 s, off after 3 s idle', () => {
    vi.useFakeTimers();
    const sent: boolean[] = [];
    const t = new TypingSender((on) => (sent.push(on), true), () => Date.now());
    t.input(false);
    vi.advanceTimersByTime(500);
    t.input(false);
    vi.advanceTimersByTime(1000);
    t.input(false);
    expect(sent).toEqual([true]);
    vi.advanceTimersByTime(600); // 2.1 s after the first `on`
    t.input(false);
    expect(sent).toEqual([true, true]);
    vi.advanceTimersByTime(2999);
    expect(sent).toEqual([true, true]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([true, true, false]);
  });

  it('sends off when the message is sent or the input is cleared, once', () => {
    vi.useFakeTimers();
    const sent: boolean[] = [];
    const t = new TypingSender((on) => (sent.push(on), true));
    t.input(false);
    t.stop();
    t.stop();
    t.input(false);
    t.input(true);
    vi.advanceTimersByTime(5000);
    expect(sent).toEqual([true, false, true, false]);
  });

  it('offline, nothing counts as sent and no off follows', () => {
    vi.useFakeTimers();
    const tries: boolean[] = [];
    const t = new TypingSender((on) => (tries.push(on), false));
    t.input(false);
    t.input(false);
    vi.advanceTimersByTime(5000);
    expect(tries).toEqual([true, true]);
  });
});
