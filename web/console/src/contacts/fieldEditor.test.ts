import { describe, expect, it } from 'vitest';
import {
  IDLE_EDIT,
  addLabel,
  cancelEdit,
  changeDraft,
  commitEdit,
  emailHint,
  noteNameHint,
  phoneHint,
  phonePreview,
  removeLabel,
  saveFailed,
  saveSucceeded,
  saving,
  startEdit,
} from './fieldEditor';

describe('field editor', () => {
  it('edits, saves the trimmed value and clears with null', () => {
    let e = startEdit(IDLE_EDIT, 'Ada');
    expect(e).toEqual({ editing: true, draft: 'Ada', saving: false, error: null });
    e = changeDraft(e, '  Ada L. ');
    expect(commitEdit(e, 'note_name', 'Ada')).toEqual({ kind: 'save', patch: { note_name: 'Ada L.' } });
    expect(commitEdit(changeDraft(e, '  '), 'note_name', 'Ada')).toEqual({ kind: 'save', patch: { note_name: null } });
    expect(commitEdit(changeDraft(e, ' Ada '), 'note_name', 'Ada')).toEqual({ kind: 'unchanged' });
    expect(commitEdit(startEdit(IDLE_EDIT, null), 'phone', null)).toEqual({ kind: 'unchanged' });
  });

  it('saves once: a blur after Enter is ignored while saving, and when not editing', () => {
    const e = saving(changeDraft(startEdit(IDLE_EDIT, null), '+49 30 1234567'));
    expect(commitEdit(e, 'phone', null)).toEqual({ kind: 'ignore' });
    expect(changeDraft(e, 'x')).toBe(e);
    expect(cancelEdit(e)).toBe(e);
    expect(commitEdit(IDLE_EDIT, 'phone', null)).toEqual({ kind: 'ignore' });
    expect(saveSucceeded()).toEqual(IDLE_EDIT);
  });

  it('Esc cancels and forgets the draft', () => {
    const e = changeDraft(startEdit(IDLE_EDIT, 'a@b.example'), 'nope');
    expect(cancelEdit(e)).toEqual(IDLE_EDIT);
    expect(commitEdit(cancelEdit(e), 'email', 'a@b.example')).toEqual({ kind: 'ignore' });
  });

  it('a refused save shows the old value with the message, and the next edit starts from the rejected text', () => {
    const e = saving(changeDraft(startEdit(IDLE_EDIT, '+4930111111'), '0301234567'));
    const failed = saveFailed(e, 'phone must be an international number');
    expect(failed).toEqual({ editing: false, draft: '0301234567', saving: false, error: 'phone must be an international number' });
    const again = startEdit(failed, '+4930111111');
    expect(again.draft).toBe('0301234567');
    expect(again.editing).toBe(true);
    expect(saving(again).error).toBeNull();
  });

  it('hints at phone numbers the server will refuse', () => {
    expect(phoneHint('')).toBeNull();
    expect(phoneHint('+49 (30) 123-45.67')).toBeNull();
    expect(phoneHint('0301234567')).toMatch(/Start with \+/);
    expect(phoneHint('+1234567')).toBe('8 to 15 digits after the + (now 7)');
    expect(phoneHint('+1234567890123456')).toMatch(/now 16/);
    expect(phoneHint('+49 30 12a4567')).toMatch(/digits, spaces/);
    expect(phoneHint('++4930123456')).toMatch(/digits, spaces/);
    expect(phonePreview(' +49 (30) 123-45.67 ')).toBe('+49301234567');
    expect(phonePreview('0301234567')).toBeNull();
  });

  it('hints at e-mail addresses and long note names', () => {
    expect(emailHint('a@b.example')).toBeNull();
    expect(emailHint('nope')).not.toBeNull();
    expect(emailHint('')).toBeNull();
    expect(noteNameHint('n'.repeat(100))).toBeNull();
    expect(noteNameHint('n'.repeat(101))).toMatch(/At most 100/);
  });

  it('adds and removes labels like the server normalises them', () => {
    expect(addLabel(['vip'], ' b2b ')).toEqual({ ok: true, labels: ['vip', 'b2b'] });
    expect(addLabel(['vip'], 'vip')).toMatchObject({ ok: false });
    expect(addLabel([], '  ')).toMatchObject({ ok: false });
    expect(addLabel([], 'x'.repeat(33))).toMatchObject({ ok: false });
    expect(addLabel(Array.from({ length: 20 }, (_, i) => String(i)), 'one more')).toMatchObject({ ok: false, error: 'At most 20 labels' });
    expect(removeLabel(['vip', 'b2b'], 'vip')).toEqual(['b2b']);
  });
});
