import { describe, expect, it } from 'vitest';
import { allAssignedText, cleared, isSelected, NO_SELECTION, resultText, startSelecting, toggle, toggleAll } from './selection';

describe('chat list selection', () => {
  it('ticks and unticks rows only while selecting', () => {
    expect(toggle(NO_SELECTION, 3)).toBe(NO_SELECTION);
    let s = startSelecting();
    s = toggle(toggle(toggle(s, 3), 5), 7);
    expect(s.ids).toEqual([3, 5, 7]);
    s = toggle(s, 5);
    expect(s.ids).toEqual([3, 7]);
    expect(isSelected(s, 3)).toBe(true);
    expect(isSelected(s, 5)).toBe(false);
    expect(isSelected(NO_SELECTION, 3)).toBe(false);
  });

  it('select all ticks the shown rows, a second time unticks them, keeping rows of other tabs', () => {
    let s = toggle(startSelecting(), 9);
    s = toggleAll(s, [1, 2, 9]);
    expect(s.ids).toEqual([9, 1, 2]);
    s = toggleAll(s, [1, 2]);
    expect(s.ids).toEqual([9]);
    expect(toggleAll(s, []).ids).toEqual([9]);
  });

  it('is cleared after a switch but stays in Select mode', () => {
    const s = cleared(toggle(startSelecting(), 4));
    expect(s).toEqual({ active: true, ids: [] });
  });
});

describe('hosting result text', () => {
  it('counts what changed, what already was so, and ended sessions', () => {
    expect(resultText({ changed: 3, unchanged: 1, ended: 0 }, true)).toBe('3 switched on, 1 already on, 0 ended');
    expect(resultText({ changed: 0, unchanged: 2, ended: 1 }, false)).toBe('0 switched off, 2 already off, 1 ended');
  });

  it('says how many assigned sessions switched', () => {
    expect(allAssignedText({ changed: 4, unchanged: 0, ended: 0 }, true)).toBe('Hosting switched on for 4 assigned sessions.');
    expect(allAssignedText({ changed: 1, unchanged: 2, ended: 0 }, false)).toBe('Hosting switched off for 1 assigned session; 2 already off.');
    expect(allAssignedText({ changed: 0, unchanged: 0, ended: 0 }, true)).toBe('No assigned sessions to switch.');
  });
});
