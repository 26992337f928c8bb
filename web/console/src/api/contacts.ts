// Customer info REST calls: contacts (list, read, edit, history), session tags and the
// member's own chat-list preferences. Shapes as in src/http/contacts.rs, session_tags.rs and
// me.rs; only the fields the console reads are listed.
import type { Api } from './http';

export interface Contact {
  id: number;
  project_id: number;
  channel_id: number;
  external_id: string;
  /** The visitor's own name. */
  name: string;
  note_name: string | null;
  /** E.164 (`+49301234567`), normalised by the server. */
  phone: string | null;
  email: string | null;
  labels: string[];
  created_at: string;
  updated_at: string;
}

export interface ContactPage {
  items: Contact[];
  /** Pass as `before` for the next page; null on the last page. */
  next_before: number | null;
}

export interface ContactQuery {
  /** Name or note name, substring. */
  q?: string;
  /** Note name only, substring. */
  noteName?: string;
  before?: number | null;
  limit?: number;
}

/** Absent: unchanged; null or "": cleared. All or nothing (`validation` changes nothing). */
export interface ContactPatch {
  note_name?: string | null;
  phone?: string | null;
  email?: string | null;
  labels?: string[];
}

export interface ContactChange {
  id: number;
  contact_id: number;
  user_id: number | null;
  field: string;
  old: unknown;
  new: unknown;
  at: string;
}

export interface ContactChangePage {
  items: ContactChange[];
  next_before: number | null;
}

export interface SessionTag {
  id: number;
  name: string;
  /** `#rrggbb`. */
  color: string;
}

/** GET/PATCH /api/projects/{pid}/me/preferences. */
export interface Preferences {
  show_visitor_labels: boolean;
  note_name_first: boolean;
}

export const DEFAULT_PREFERENCES: Preferences = { show_visitor_labels: false, note_name_first: false };

export class ContactsApi {
  constructor(private readonly api: Pick<Api, 'request'>) {}

  contacts(projectId: number, q: ContactQuery = {}): Promise<ContactPage> {
    const params = new URLSearchParams();
    if (q.q?.trim()) params.set('q', q.q.trim());
    if (q.noteName?.trim()) params.set('note_name', q.noteName.trim());
    if (q.before != null) params.set('before', String(q.before));
    if (q.limit !== undefined) params.set('limit', String(q.limit));
    return this.api.request<ContactPage>('GET', `/api/projects/${projectId}/contacts?${params}`);
  }

  contact(projectId: number, contactId: number): Promise<Contact> {
    return this.api.request<Contact>('GET', `/api/projects/${projectId}/contacts/${contactId}`);
  }

  updateContact(projectId: number, contactId: number, patch: ContactPatch): Promise<Contact> {
    return this.api.request<Contact>('PATCH', `/api/projects/${projectId}/contacts/${contactId}`, patch);
  }

  contactChanges(projectId: number, contactId: number, q: { before?: number | null; limit?: number } = {}): Promise<ContactChangePage> {
    const params = new URLSearchParams();
    if (q.before != null) params.set('before', String(q.before));
    if (q.limit !== undefined) params.set('limit', String(q.limit));
    return this.api.request<ContactChangePage>('GET', `/api/projects/${projectId}/contacts/${contactId}/changes?${params}`);
  }

  sessionTagList(projectId: number): Promise<SessionTag[]> {
    return this.api.request<SessionTag[]>('GET', `/api/projects/${projectId}/session-tags`);
  }

  /** The tags of one session; a failure means "unknown", never "none". */
  sessionTags(projectId: number, sessionId: number): Promise<SessionTag[]> {
    return this.api.request<SessionTag[]>('GET', `/api/projects/${projectId}/sessions/${sessionId}/tags`);
  }

  /** Replaces the session's tags; the answer is the whole new list. */
  setSessionTags(projectId: number, sessionId: number, tagIds: number[]): Promise<SessionTag[]> {
    return this.api.request<SessionTag[]>('PUT', `/api/projects/${projectId}/sessions/${sessionId}/tags`, { tag_ids: tagIds });
  }

  preferences(projectId: number): Promise<Preferences> {
    return this.api.request<Preferences>('GET', `/api/projects/${projectId}/me/preferences`);
  }

  updatePreferences(projectId: number, patch: Partial<Preferences>): Promise<Preferences> {
    return this.api.request<Preferences>('PATCH', `/api/projects/${projectId}/me/preferences`, patch);
  }
}

export type ContactsPort = Pick<
  ContactsApi,
  'contacts' | 'contact' | 'updateContact' | 'sessionTagList' | 'sessionTags' | 'setSessionTags' | 'preferences' | 'updatePreferences'
>;
