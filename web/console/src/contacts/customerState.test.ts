// The inbox reducer's handling of customer info: `contact` and `session_tags` frames, REST
// reads that arrive late, and the frames' parsing.
import { describe, expect, it } from 'vitest';
import { initialState, reduce } from '../inbox/reducer';
import type { InboxAction, InboxState } from '../inbox/reducer';
import { parseServerFrame } from '../realtime/protocol';
import { makeSession } from '../testing/fakes';
import { liveContact } from './customerState';
import { makeContact } from './fakeContactsApi';

function run(actions: InboxAction[], from: InboxState = initialState({ userId: 1, dataScope: 'all' })): InboxState {
  return actions.reduce(reduce, from);
}

const frame = (f: Record<string, unknown>): InboxAction => ({ type: 'frame', frame: parseServerFrame(JSON.stringify(f))! });

describe('customer info in the inbox state', () => {
  it('a contact frame renames every session of the contact and stores the contact', () => {
    const st = run([
      { type: 'sessionFetched', session: makeSession({ id: 1, contact_id: 7, contact_name: 'visitor-7' }) },
      { type: 'sessionFetched', session: makeSession({ id: 2, contact_id: 7, contact_name: 'visitor-7', status: 'ended' }) },
      { type: 'sessionFetched', session: makeSession({ id: 3, contact_id: 8 }) },
      frame({ v: 1, type: 'contact', contact: makeContact({ id: 7, name: 'visitor-7', note_name: 'Ada', labels: ['vip'], updated_at: '2026-11-24T11:00:00Z' }) }),
    ]);
    expect(st.sessions[1].note_name).toBe('Ada');
    expect(st.sessions[2].note_name).toBe('Ada');
    expect(st.sessions[3].note_name).toBeNull();
    expect(st.customer.contacts[7].labels).toEqual(['vip']);
    // Clearing the note name travels the same way.
    const cleared = run([frame({ type: 'contact', contact: makeContact({ id: 7, name: 'visitor-7', note_name: null, updated_at: '2026-11-24T11:00:05Z' }) })], st);
    expect(cleared.sessions[1].note_name).toBeNull();
    expect(cleared.customer.contacts[7].note_name).toBeNull();
  });

  it('an older read of a contact does not undo a newer one', () => {
    const newer = makeContact({ id: 7, note_name: 'New', updated_at: '2026-11-24T11:00:10Z' });
    const older = makeContact({ id: 7, note_name: 'Old', updated_at: '2026-11-24T11:00:00Z' });
    const st = run([
      { type: 'sessionFetched', session: makeSession({ id: 1, contact_id: 7 }) },
      frame({ type: 'contact', contact: newer }),
    ]);
    const after = run([{ type: 'customer', action: { type: 'contact', contact: older } }], st);
    expect(after).toBe(st);
    expect(after.sessions[1].note_name).toBe('New');
    // A Contacts page row read before the edit shows the newer contact.
    expect(liveContact(after.customer, older).note_name).toBe('New');
    expect(liveContact(after.customer, makeContact({ id: 9 })).id).toBe(9);
  });

  it('session_tags replaces the session tags; a failed read never hides known tags', () => {
    const tags = [{ id: 1, name: 'Billing', color: '#ff0000' }];
    let st = run([frame({ type: 'session_tags', session_id: 4, tags })]);
    expect(st.customer.sessionTags[4]).toEqual(tags);
    st = run([{ type: 'customer', action: { type: 'sessionTags', sessionId: 4, tags: 'unknown' } }], st);
    expect(st.customer.sessionTags[4]).toEqual(tags);
    st = run([frame({ type: 'session_tags', session_id: 4, tags: [] })], st);
    expect(st.customer.sessionTags[4]).toEqual([]);
    st = run([{ type: 'customer', action: { type: 'sessionTags', sessionId: 5, tags: 'unknown' } }], st);
    expect(st.customer.sessionTags[5]).toBe('unknown');
  });

  it('keeps preferences and their load state', () => {
    let st = run([]);
    expect(st.customer.prefs).toEqual({ show_visitor_labels: false, note_name_first: false });
    expect(st.customer.prefsLoaded).toBe(false);
    st = run([{ type: 'customer', action: { type: 'preferences', prefs: { show_visitor_labels: true, note_name_first: false }, loaded: true } }], st);
    expect(st.customer.prefsLoaded).toBe(true);
    st = run([{ type: 'customer', action: { type: 'preferencesFailed', error: 'nope' } }], st);
    expect(st.customer.prefsError).toBe('nope');
    expect(st.customer.prefs.show_visitor_labels).toBe(true);
  });

  it('parses the new frames defensively', () => {
    expect(parseServerFrame(JSON.stringify({ v: 1, type: 'contact', contact: makeContact({ id: 1 }) }))?.type).toBe('contact');
    expect(parseServerFrame(JSON.stringify({ v: 1, type: 'contact', contact: { id: 'x' } }))).toBeNull();
    expect(parseServerFrame(JSON.stringify({ v: 1, type: 'contact' }))).toBeNull();
    expect(parseServerFrame(JSON.stringify({ v: 1, type: 'session_tags', session_id: 1, tags: [] }))?.type).toBe('session_tags');
    expect(parseServerFrame(JSON.stringify({ v: 1, type: 'session_tags', session_id: 1 }))).toBeNull();
  });
});
