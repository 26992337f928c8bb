// Inline editing of one customer-info field (note name, phone, e-mail), as pure transitions:
// click to edit, Enter or blur saves, Esc cancels. Hints are advice only; the server decides,
// and its error is shown next to the field while the old value stays.
import type { Contact, ContactPatch } from '../api/contacts';

export type TextField = 'note_name' | 'phone' | 'email';

export interface FieldEdit {
  editing: boolean;
  /** The input's text (kept after a refused save, so a second try starts from it). */
  draft: string;
  saving: boolean;
  /** The server's message for the last refused save. */
  error: string | null;
}

export const IDLE_EDIT: FieldEdit = { editing: false, draft: '', saving: false, error: null };

export const NOTE_NAME_MAX = 100;
export const LABEL_MAX = 32;
export const LABELS_MAX = 20;

export function startEdit(e: FieldEdit, current: string | null): FieldEdit {
  if (e.editing || e.saving) return e;
  // After a refused save the rejected text comes back, so it can be corrected.
  return { editing: true, draft: e.error !== null ? e.draft : current ?? '', saving: false, error: e.error };
}

export function changeDraft(e: FieldEdit, draft: string): FieldEdit {
  return e.editing && !e.saving ? { ...e, draft } : e;
}

export function cancelEdit(e: FieldEdit): FieldEdit {
  return e.saving ? e : IDLE_EDIT;
}

/** What a commit (Enter or blur) does: nothing, leave (unchanged), or send this patch. */
export type Commit = { kind: 'ignore' } | { kind: 'unchanged' } | { kind: 'save'; patch: ContactPatch };

export function commitEdit(e: FieldEdit, field: TextField, current: string | null): Commit {
  if (!e.editing || e.saving) return { kind: 'ignore' };
  const value = e.draft.trim();
  if (value === (current ?? '').trim()) return { kind: 'unchanged' };
  return { kind: 'save', patch: { [field]: value === '' ? null : value } };
}

export function saving(e: FieldEdit): FieldEdit {
  return { ...e, saving: true, error: null };
}

export function saveSucceeded(): FieldEdit {
  return IDLE_EDIT;
}

/** Back to showing the old value, with the server's message beside it. */
export function saveFailed(e: FieldEdit, message: string): FieldEdit {
  return { editing: false, draft: e.draft, saving: false, error: message };
}

export function fieldValue(c: Pick<Contact, TextField>, field: TextField): string | null {
  return c[field];
}

const PHONE_ALLOWED = /^[0-9 .()-]*$/;

/** Advice while typing a phone number; null when it looks like what the server accepts. */
export function phoneHint(text: string): string | null {
  const t = text.trim();
  if (t === '') return null;
  if (!t.startsWith('+')) return 'Start with + and the country code, e.g. +49 30 1234567';
  const rest = t.slice(1);
  if (!PHONE_ALLOWED.test(rest)) return 'Use digits, spaces, dashes, dots and parentheses only';
  const digits = rest.replace(/\D/g, '').length;
  if (digits < 8 || digits > 15) return `8 to 15 digits after the + (now ${digits})`;
  return null;
}

/** The number as the server will store it (E.164), or null when it will be refused. */
export function phonePreview(text: string): string | null {
  const t = text.trim();
  if (t === '' || phoneHint(t) !== null) return null;
  return '+' + t.slice(1).replace(/\D/g, '');
}

export function emailHint(text: string): string | null {
  const t = text.trim();
  if (t === '') return null;
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(t) ? null : 'Does not look like an e-mail address';
}

export function noteNameHint(text: string): string | null {
  const n = [...text.trim()].length;
  return n > NOTE_NAME_MAX ? `At most ${NOTE_NAME_MAX} characters (now ${n})` : null;
}

export function hintFor(field: TextField, text: string): string | null {
  switch (field) {
    case 'phone':
      return phoneHint(text);
    case 'email':
      return emailHint(text);
    case 'note_name':
      return noteNameHint(text);
  }
}

export type LabelEdit = { ok: true; labels: string[] } | { ok: false; error: string };

/** Adds a label the way the server normalises them (trimmed, no duplicates, bounded). */
export function addLabel(labels: readonly string[], text: string): LabelEdit {
  const l = text.trim();
  const n = [...l].length;
  if (n === 0) return { ok: false, error: 'Type a label first' };
  if (n > LABEL_MAX) return { ok: false, error: `A label has at most ${LABEL_MAX} characters` };
  if (labels.includes(l)) return { ok: false, error: `“${l}” is already there` };
  if (labels.length >= LABELS_MAX) return { ok: false, error: `At most ${LABELS_MAX} labels` };
  return { ok: true, labels: [...labels, l] };
}

export function removeLabel(labels: readonly string[], label: string): string[] {
  return labels.filter((l) => l !== label);
}
