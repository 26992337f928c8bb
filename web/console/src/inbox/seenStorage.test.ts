import { describe, expect, it } from 'vitest';
import { loadSeen, saveSeen, SEEN_LIMIT } from './seenStorage';

describe('seen storage', () => {
  it('round-trips per user and project, and survives junk', () => {
    const storage = window.localStorage;
    storage.clear();
    saveSeen(storage, 1, 2, { 5: 3, 6: 0 });
    expect(loadSeen(storage, 1, 2)).toEqual({ 5: 3, 6: 0 });
    expect(loadSeen(storage, 1, 3)).toEqual({});
    storage.setItem('sb.console.seen.u9.p9', '{not json');
    expect(loadSeen(storage, 9, 9)).toEqual({});
    expect(loadSeen(null, 1, 2)).toEqual({});
  });

  it('keeps only the newest sessions', () => {
    const storage = window.localStorage;
    storage.clear();
    const many: Record<number, number> = {};
    for (let i = 1; i <= SEEN_LIMIT + 10; i++) many[i] = 1;
    saveSeen(storage, 1, 1, many);
    const back = loadSeen(storage, 1, 1);
    expect(Object.keys(back)).toHaveLength(SEEN_LIMIT);
    expect(back[1]).toBeUndefined();
    expect(back[SEEN_LIMIT + 10]).toBe(1);
  });
});
