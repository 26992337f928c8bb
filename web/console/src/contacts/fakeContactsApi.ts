// Test double: an in-memory server for contacts, session tags and preferences that
// validates like src/domain/contacts.rs (all or nothing) and records its calls.
import type { Contact, ContactPage, ContactPatch, ContactQuery, ContactsPort, Preferences, SessionTag } from '../api/contacts';
import { ApiError } from '../api/http';

export function makeContact(over: Partial<Contact> & { id: number }): Contact {
  return {
    project_id: 1,
    channel_id: 1,
    external_id: `ext-${over.id}`,
    name: `Visitor ${over.id}`,
    note_name: null,
    phone: null,
    email: null,
    labels: [],
    created_at: '2026-11-24T09:00:00Z',
    updated_at: '2026-11-24T09:00:00Z',
    ...over,
  };
}

export class FakeContactsApi implements ContactsPort {
  contactsById = new Map<number, Contact>();
  tags: SessionTag[] = [];
  tagsBySession = new Map<number, SessionTag[]>();
  /** The real server has no GET for one session's tags (yet). */
  sessionTagsReadable = true;
  prefs: Preferences = { show_visitor_labels: false, note_name_first: false };
  failNext: Partial<Record<keyof ContactsPort, ApiError>> = {};
  calls: string[] = [];
  private clock = 0;

  put(c: Contact): void {
    this.contactsById.set(c.id, c);
  }

  private check(name: keyof ContactsPort): void {
    const e = this.failNext[name];
    if (e) {
      delete this.failNext[name];
      throw e;
    }
  }

  async contacts(_pid: number, q: ContactQuery = {}): Promise<ContactPage> {
    this.calls.push(`contacts q=${q.q ?? ''} note=${q.noteName ?? ''} before=${q.before ?? ''} limit=${q.limit ?? ''}`);
    this.check('contacts');
    const has = (v: string | null, needle: string) => (v ?? '').toLowerCase().includes(needle.toLowerCase());
    let items = [...this.contactsById.values()].sort((a, b) => b.id - a.id);
    if (q.q) items = items.filter((c) => has(c.name, q.q!) || has(c.note_name, q.q!));
    if (q.noteName) items = items.filter((c) => has(c.note_name, q.noteName!));
    if (q.before != null) items = items.filter((c) => c.id < q.before!);
    const limit = q.limit ?? 50;
    const page = items.slice(0, limit);
    return { items: page, next_before: page.length === limit ? page[page.length - 1].id : null };
  }

  async contact(_pid: number, cid: number): Promise<Contact> {
    this.calls.push(`contact ${cid}`);
    this.check('contact');
    const c = this.contactsById.get(cid);
    if (!c) throw new ApiError(404, 'not_found', 'contact not found');
    return c;
  }

  async updateContact(_pid: number, cid: number, patch: ContactPatch): Promise<Contact> {
    this.calls.push(`patch ${cid} ${JSON.stringify(patch)}`);
    this.check('updateContact');
    const c = this.contactsById.get(cid);
    if (!c) throw new ApiError(404, 'not_found', 'contact not found');
    const next = { ...c };
    const text = (v: string | null | undefined) => (v == null || v.trim() === '' ? null : v.trim());
    if (patch.note_name !== undefined) next.note_name = text(patch.note_name);
    if (patch.phone !== undefined) {
      const p = text(patch.phone);
      if (p !== null) {
        const digits = p.slice(1).replace(/[ .()-]/g, '');
        if (!p.startsWith('+') || !/^\d{8,15}$/.test(digits)) {
          throw new ApiError(400, 'validation', 'phone must be an international number: + and 8 to 15 digits (e.g. +49 30 1234567)');
        }
        next.phone = '+' + digits;
      } else next.phone = null;
    }
    if (patch.email !== undefined) {
      const e = text(patch.email);
      if (e !== null && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e)) throw new ApiError(400, 'validation', 'email is not a valid e-mail address');
      next.email = e;
    }
    if (patch.labels !== undefined) next.labels = [...new Set(patch.labels.map((l) => l.trim()))];
    next.updated_at = new Date(Date.UTC(2026, 10, 24, 11, 0, ++this.clock)).toISOString();
    this.contactsById.set(cid, next);
    return next;
  }

  async sessionTagList(): Promise<SessionTag[]> {
    this.calls.push('tag list');
    this.check('sessionTagList');
    return this.tags;
  }

  async sessionTags(_pid: number, sid: number): Promise<SessionTag[]> {
    this.calls.push(`tags ${sid}`);
    this.check('sessionTags');
    if (!this.sessionTagsReadable) throw new ApiError(404, 'not_found', 'not found');
    return this.tagsBySession.get(sid) ?? [];
  }

  async setSessionTags(_pid: number, sid: number, ids: number[]): Promise<SessionTag[]> {
    this.calls.push(`set tags ${sid} ${ids.join(',')}`);
    this.check('setSessionTags');
    const tags = this.tags.filter((t) => ids.includes(t.id));
    if (tags.length !== new Set(ids).size) throw new ApiError(400, 'validation', 'tag_ids: every id must be a session tag of this project');
    this.tagsBySession.set(sid, tags);
    return tags;
  }

  async preferences(): Promise<Preferences> {
    this.calls.push('prefs');
    this.check('preferences');
    return { ...this.prefs };
  }

  async updatePreferences(_pid: number, patch: Partial<Preferences>): Promise<Preferences> {
    this.calls.push(`patch prefs ${JSON.stringify(patch)}`);
    this.check('updatePreferences');
    this.prefs = { ...this.prefs, ...patch };
    return { ...this.prefs };
  }
}
