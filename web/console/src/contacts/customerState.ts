// The customer-info part of the inbox state: contacts as last read or pushed, the tags of
// sessions, the project's tag list and the agent's chat-list preferences. Folded into the
// inbox reducer (InboxState.customer) so chat list, details panel and Contacts page all read
// one store and a `contact` frame updates every place at once.
import type { Contact, Preferences, SessionTag } from '../api/contacts';
import { DEFAULT_PREFERENCES } from '../api/contacts';
import type { Session } from '../api/types';

export interface CustomerState {
  contacts: Readonly<Record<number, Contact>>;
  /** Per session: its tags, `unknown` when they could not be read (then not editable). */
  sessionTags: Readonly<Record<number, readonly SessionTag[] | 'unknown'>>;
  /** The project's tags (null until loaded). */
  tagList: readonly SessionTag[] | null;
  prefs: Preferences;
  prefsLoaded: boolean;
  prefsError: string | null;
}

export type CustomerAction =
  /** A contact read by REST, the answer of an edit, or a `contact` frame. */
  | { type: 'contact'; contact: Contact }
  | { type: 'sessionTags'; sessionId: number; tags: readonly SessionTag[] | 'unknown' }
  | { type: 'tagList'; tags: readonly SessionTag[] }
  | { type: 'preferences'; prefs: Preferences; loaded: boolean }
  | { type: 'preferencesFailed'; error: string };

export function initialCustomer(): CustomerState {
  return { contacts: {}, sessionTags: {}, tagList: null, prefs: DEFAULT_PREFERENCES, prefsLoaded: false, prefsError: null };
}

/** The newer of two reads of one contact (a REST answer may arrive after a later frame). */
export function newerContact(cur: Contact | undefined, incoming: Contact): Contact {
  if (!cur) return incoming;
  return Date.parse(incoming.updated_at) >= Date.parse(cur.updated_at) ? incoming : cur;
}

export function reduceCustomer(state: CustomerState, a: CustomerAction): CustomerState {
  switch (a.type) {
    case 'contact': {
      const cur = state.contacts[a.contact.id];
      const next = newerContact(cur, a.contact);
      if (next === cur) return state;
      return { ...state, contacts: { ...state.contacts, [next.id]: next } };
    }
    case 'sessionTags':
      // A failed read never hides tags we know.
      if (a.tags === 'unknown' && Array.isArray(state.sessionTags[a.sessionId])) return state;
      return { ...state, sessionTags: { ...state.sessionTags, [a.sessionId]: a.tags } };
    case 'tagList':
      return { ...state, tagList: a.tags };
    case 'preferences':
      return { ...state, prefs: a.prefs, prefsLoaded: state.prefsLoaded || a.loaded, prefsError: null };
    case 'preferencesFailed':
      return { ...state, prefsError: a.error };
  }
}

/** Sessions of this contact get its current name and note name; the same map if none changed. */
export function sessionsWithContact(sessions: Readonly<Record<number, Session>>, c: Contact): Readonly<Record<number, Session>> {
  let out: Record<number, Session> | null = null;
  for (const s of Object.values(sessions)) {
    if (s.contact_id !== c.id || (s.contact_name === c.name && s.note_name === c.note_name)) continue;
    out ??= { ...sessions };
    out[s.id] = { ...s, contact_name: c.name, note_name: c.note_name };
  }
  return out ?? sessions;
}

/** A contact as a list row shows it: the row as read, or a newer version from the store. */
export function liveContact(state: CustomerState, row: Contact): Contact {
  return newerContact(row, state.contacts[row.id] ?? row);
}
