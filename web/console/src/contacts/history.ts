// The contact's edit history as sentences: who changed which field, from what to what. The
// server records one row per changed field (src/http/contacts.rs, `GET …/changes`).
import type { ContactChange } from '../api/contacts';
import type { Member } from '../api/types';

const FIELD_LABELS: Record<string, string> = {
  note_name: 'note name',
  phone: 'phone',
  email: 'e-mail',
  labels: 'labels',
};

/** A value as shown: labels joined, empty values as null. */
function shown(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.length ? v.map(String).join(', ') : null;
  const s = String(v);
  return s.trim() ? s : null;
}

export function changedBy(c: ContactChange, members: readonly Member[], me: number): string {
  if (c.user_id === null) return 'A former member';
  if (c.user_id === me) return 'You';
  const m = members.find((x) => x.user_id === c.user_id);
  return m ? m.display_name || m.email : `User #${c.user_id}`;
}

/** "Amy set the phone to +4930…", "You cleared the note name", "Amy changed the e-mail from a to b". */
export function describeChange(c: ContactChange, members: readonly Member[], me: number): string {
  const who = changedBy(c, members, me);
  const field = FIELD_LABELS[c.field] ?? c.field;
  const [from, to] = [shown(c.old), shown(c.new)];
  if (to === null) return `${who} cleared the ${field}${from === null ? '' : ` (was ${from})`}`;
  if (from === null) return `${who} set the ${field} to ${to}`;
  return `${who} changed the ${field} from ${from} to ${to}`;
}
