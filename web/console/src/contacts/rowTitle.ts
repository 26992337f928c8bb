// How a conversation row names its visitor, following the agent's preference: the note
// name first (original name beside it), or the original name first (note name beside it).
import type { Preferences } from '../api/contacts';

export interface RowTitle {
  primary: string;
  /** Shown smaller beside the primary name; null when there is no note name. */
  secondary: string | null;
}

export function rowTitle(s: { contact_name: string; note_name: string | null }, prefs: Pick<Preferences, 'note_name_first'>): RowTitle {
  const note = s.note_name?.trim() || null;
  const name = s.contact_name || 'Visitor';
  if (!note) return { primary: name, secondary: null };
  return prefs.note_name_first ? { primary: note, secondary: name } : { primary: name, secondary: note };
}
