import { describe, expect, it } from 'vitest';
import { makeMessage } from '../testing/fakes';
import { contiguousMax, hasSeq, lastSeq, mergeMessages } from './chatLog';

const m = (seq: number) => makeMessage({ session_id: 1, seq });

describe('chatLog', () => {
  it('merges in seq order without duplicates and keeps identity when nothing is new', () => {
    const a = mergeMessages([], [m(3), m(1)]);
    expect(a.map((x) => x.seq)).toEqual([1, 3]);
    const b = mergeMessages(a, [m(2), m(3)]);
    expect(b.map((x) => x.seq)).toEqual([1, 2, 3]);
    expect(mergeMessages(b, [m(1), m(2)])).toBe(b);
    expect(mergeMessages(b, [m(4)]).map((x) => x.seq)).toEqual([1, 2, 3, 4]);
  });

  it('finds the resume point before the first gap', () => {
    expect(contiguousMax([])).toBe(0);
    expect(contiguousMax([m(5), m(6), m(7)])).toBe(7);
    expect(contiguousMax([m(5), m(6), m(9)])).toBe(6);
    expect(lastSeq([m(5), m(6), m(9)])).toBe(9);
  });

  it('looks seqs up', () => {
    const list = [m(1), m(2), m(4), m(8)];
    expect(hasSeq(list, 4)).toBe(true);
    expect(hasSeq(list, 3)).toBe(false);
    expect(hasSeq([], 1)).toBe(false);
  });
});
