import { describe, expect, it } from 'vitest';
import { rowTitle } from './rowTitle';

describe('row title', () => {
  const s = { contact_name: 'visitor-3', note_name: 'Ada (ACME)' };
  it('puts the note name first only when the agent asks for it', () => {
    expect(rowTitle(s, { note_name_first: true })).toEqual({ primary: 'Ada (ACME)', secondary: 'visitor-3' });
    expect(rowTitle(s, { note_name_first: false })).toEqual({ primary: 'visitor-3', secondary: 'Ada (ACME)' });
  });
  it('shows the original name alone without a note name', () => {
    for (const first of [true, false]) {
      expect(rowTitle({ contact_name: 'visitor-3', note_name: null }, { note_name_first: first })).toEqual({ primary: 'visitor-3', secondary: null });
      expect(rowTitle({ contact_name: 'visitor-3', note_name: '  ' }, { note_name_first: first })).toEqual({ primary: 'visitor-3', secondary: null });
    }
    expect(rowTitle({ contact_name: '', note_name: null }, { note_name_first: false }).primary).toBe('Visitor');
  });
});
