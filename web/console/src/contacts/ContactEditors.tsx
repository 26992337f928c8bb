// Editors shared by the details panel and the Contacts page: one text field (click to edit,
// Enter or blur saves, Esc cancels), visitor labels and session tags as chips. The rules
// live in fieldEditor.ts; these only render them.
import { useRef, useState } from 'react';
import type { KeyboardEvent } from 'react';
import type { Contact, ContactPatch, SessionTag } from '../api/contacts';
import { IDLE_EDIT, addLabel, cancelEdit, changeDraft, commitEdit, hintFor, phonePreview, removeLabel, saveFailed, saveSucceeded, saving, startEdit } from './fieldEditor';
import type { FieldEdit, TextField } from './fieldEditor';

export type SaveFn = (patch: ContactPatch) => Promise<{ ok: true } | { ok: false; error: string }>;

const FIELD_ID: Record<TextField, string> = { note_name: 'note-name', phone: 'phone', email: 'email' };
const PLACEHOLDER: Record<TextField, string> = { note_name: 'Add note name', phone: 'Add phone', email: 'Add e-mail' };
const INPUT_TYPE: Record<TextField, string> = { note_name: 'text', phone: 'tel', email: 'email' };

/** The latest edit state in a ref too, so Enter followed by blur saves once. */
function useEdit(): [FieldEdit, (f: (e: FieldEdit) => FieldEdit) => FieldEdit] {
  const ref = useRef<FieldEdit>(IDLE_EDIT);
  const [edit, setEdit] = useState<FieldEdit>(IDLE_EDIT);
  const update = (f: (e: FieldEdit) => FieldEdit) => {
    ref.current = f(ref.current);
    setEdit(ref.current);
    return ref.current;
  };
  return [edit, update];
}

interface FieldProps {
  contact: Contact;
  field: TextField;
  label: string;
  /** `info` in the details panel (info-phone, info-phone-input, info-error), `contact` on the Contacts page. */
  testPrefix: string;
  onSave: SaveFn;
  compact?: boolean;
}

export function ContactFieldEditor({ contact, field, label, testPrefix, onSave, compact }: FieldProps) {
  const [edit, update] = useEdit();
  const current = contact[field];
  const tid = `${testPrefix}-${FIELD_ID[field]}`;

  const commit = async () => {
    let c: ReturnType<typeof commitEdit> = { kind: 'ignore' };
    update((e) => {
      c = commitEdit(e, field, current);
      if (c.kind === 'unchanged') return saveSucceeded();
      return c.kind === 'save' ? saving(e) : e;
    });
    const decided = c as ReturnType<typeof commitEdit>;
    if (decided.kind !== 'save') return;
    const r = await onSave(decided.patch);
    update((e) => (r.ok ? saveSucceeded() : saveFailed(e, r.error)));
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      void commit();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      update(cancelEdit);
    }
  };

  const hint = edit.editing ? hintFor(field, edit.draft) : null;
  const preview = edit.editing && field === 'phone' ? phonePreview(edit.draft) : null;
  return (
    <div className={`info-field${compact ? ' info-field-compact' : ''}`}>
      {!compact && <span className="info-field-label">{label}</span>}
      {edit.editing ? (
        <input
          className="info-input"
          data-testid={`${tid}-input`}
          aria-label={label}
          type={INPUT_TYPE[field]}
          value={edit.draft}
          autoFocus
          disabled={edit.saving}
          aria-invalid={hint !== null ? true : undefined}
          onChange={(e) => update((x) => changeDraft(x, e.target.value))}
          onKeyDown={onKey}
          onBlur={() => void commit()}
        />
      ) : (
        <button
          type="button"
          className={`info-value${current ? '' : ' info-value-empty'}`}
          data-testid={tid}
          title={`Edit ${label.toLowerCase()}`}
          onClick={() => update((e) => startEdit(e, current))}
        >
          {current || PLACEHOLDER[field]}
        </button>
      )}
      {hint && <span className="info-hint">{hint}</span>}
      {!hint && preview && preview !== edit.draft.trim() && <span className="info-hint">Saved as {preview}</span>}
      {edit.error && !edit.editing && (
        <span className="info-error" role="alert" data-testid={`${testPrefix}-error`}>
          {edit.error}
        </span>
      )}
    </div>
  );
}

interface LabelsProps {
  contact: Contact;
  testPrefix: string;
  onSave: SaveFn;
}

export function LabelsEditor({ contact, testPrefix, onSave }: LabelsProps) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async (labels: string[]) => {
    setBusy(true);
    const r = await onSave({ labels });
    setBusy(false);
    setError(r.ok ? null : r.error);
    return r.ok;
  };
  const add = async () => {
    const r = addLabel(contact.labels, text);
    if (!r.ok) {
      setError(r.error);
      return;
    }
    if (await save(r.labels)) setText('');
  };

  return (
    <div className="info-chips" data-testid={`${testPrefix}-labels`}>
      {contact.labels.map((l) => (
        <span key={l} className="chip" data-testid={`${testPrefix}-label`}>
          {l}
          <button type="button" className="chip-remove" aria-label={`Remove label ${l}`} disabled={busy} onClick={() => void save(removeLabel(contact.labels, l))}>
            ×
          </button>
        </span>
      ))}
      <input
        className="chip-input"
        data-testid={`${testPrefix}-label-add`}
        aria-label="Add label"
        placeholder="+ label"
        value={text}
        disabled={busy}
        onChange={(e) => {
          setText(e.target.value);
          setError(null);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            void add();
          } else if (e.key === 'Escape') {
            setText('');
            setError(null);
          }
        }}
      />
      {error && (
        <span className="info-error" role="alert" data-testid={`${testPrefix}-error`}>
          {error}
        </span>
      )}
    </div>
  );
}

const HEX = /^#[0-9a-fA-F]{6}$/;

/** A tag's colour as an SVG fill attribute: no inline style, so the CSP stays strict. */
export function TagDot({ color }: { color: string }) {
  return (
    <svg className="tag-dot" viewBox="0 0 8 8" aria-hidden="true">
      <circle cx="4" cy="4" r="4" fill={HEX.test(color) ? color : '#888888'} />
    </svg>
  );
}

interface TagsProps {
  tags: readonly SessionTag[] | 'unknown' | undefined;
  tagList: readonly SessionTag[] | null;
  onSet: (ids: number[]) => Promise<{ ok: true } | { ok: false; error: string }>;
}

export function TagsEditor({ tags, tagList, onSet }: TagsProps) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const known = Array.isArray(tags) ? (tags as readonly SessionTag[]) : null;
  const set = async (ids: number[]) => {
    setBusy(true);
    const r = await onSet(ids);
    setBusy(false);
    setError(r.ok ? null : r.error);
  };
  const available = known && tagList ? tagList.filter((t) => !known.some((k) => k.id === t.id)) : [];
  return (
    <div className="info-chips" data-testid="info-tags">
      {known?.map((t) => (
        <span key={t.id} className="chip" data-testid="info-tag" data-tag-id={t.id}>
          <TagDot color={t.color} />
          {t.name}
          <button type="button" className="chip-remove" aria-label={`Remove tag ${t.name}`} disabled={busy} onClick={() => void set(known.filter((k) => k.id !== t.id).map((k) => k.id))}>
            ×
          </button>
        </span>
      ))}
      {tags === undefined && <span className="muted">Loading…</span>}
      {tags === 'unknown' && <span className="muted">This chat's tags cannot be read, so they cannot be changed here.</span>}
      {known && (
        <select
          className="chip-select"
          data-testid="info-tag-add"
          aria-label="Add tag"
          value=""
          disabled={busy || available.length === 0}
          onChange={(e) => {
            const id = Number(e.target.value);
            if (id) void set([...known.map((k) => k.id), id]);
          }}
        >
          <option value="">{tagList && tagList.length === 0 ? 'No tags in this project' : '+ tag'}</option>
          {available.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
            </option>
          ))}
        </select>
      )}
      {error && (
        <span className="info-error" role="alert" data-testid="info-error">
          {error}
        </span>
      )}
    </div>
  );
}
