import { describe, expect, it } from 'vitest';
import type { Preferences } from '../api/contacts';
import { ApiError } from '../api/http';
import { initialState, reduce } from '../inbox/reducer';
import type { InboxAction, InboxState } from '../inbox/reducer';
import { makeSession } from '../testing/fakes';
import { CustomerInfoController } from './customerInfoController';
import { FakeContactsApi, makeContact } from './fakeContactsApi';

class Store {
  state: InboxState = initialState({ userId: 1, dataScope: 'all' });
  private listeners = new Set<() => void>();
  getState = () => this.state;
  dispatch = (a: InboxAction) => {
    const next = reduce(this.state, a);
    if (next === this.state) return;
    this.state = next;
    for (const l of this.listeners) l();
  };
  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

/** Preference calls wait until the test opens their gate (in the order they were made). */
class GatedPrefsApi extends FakeContactsApi {
  gates: (() => void)[] = [];
  gateReads = false;
  private gate(): Promise<void> {
    return new Promise<void>((r) => this.gates.push(r));
  }
  override async preferences(): Promise<Preferences> {
    if (this.gateReads) await this.gate();
    return super.preferences();
  }
  override async updatePreferences(pid: number, patch: Partial<Preferences>): Promise<Preferences> {
    await this.gate();
    return super.updatePreferences(pid, patch);
  }
}

function setup() {
  const api = new FakeContactsApi();
  const store = new Store();
  const ctl = new CustomerInfoController({ api, projectId: 1, store });
  return { api, store, ctl };
}

describe('customer info controller', () => {
  it('loads preferences and the tag list; opening a chat reads its contact and tags', async () => {
    const { api, store, ctl } = setup();
    api.prefs = { show_visitor_labels: false, note_name_first: true };
    api.tags = [{ id: 1, name: 'Billing', color: '#ff0000' }];
    api.put(makeContact({ id: 70, phone: '+4930123456' }));
    api.tagsBySession.set(7, [api.tags[0]]);
    ctl.start();
    await flush();
    expect(store.state.customer.prefs.note_name_first).toBe(true);
    expect(store.state.customer.tagList).toEqual(api.tags);
    store.dispatch({ type: 'sessionFetched', session: makeSession({ id: 7 }) });
    store.dispatch({ type: 'open', sessionId: 7 });
    await flush();
    expect(store.state.customer.contacts[70].phone).toBe('+4930123456');
    expect(store.state.customer.sessionTags[7]).toEqual([api.tags[0]]);
    ctl.stop();
  });

  it('marks tags unknown when they cannot be read', async () => {
    const { api, store, ctl } = setup();
    api.sessionTagsReadable = false;
    ctl.start();
    store.dispatch({ type: 'sessionFetched', session: makeSession({ id: 7 }) });
    store.dispatch({ type: 'open', sessionId: 7 });
    await flush();
    expect(store.state.customer.sessionTags[7]).toBe('unknown');
  });

  it('toggles a preference at once and puts it back when the server refuses', async () => {
    const { api, store, ctl } = setup();
    ctl.start();
    await flush();
    const p = ctl.setPreference('show_visitor_labels', true);
    expect(store.state.customer.prefs.show_visitor_labels).toBe(true);
    await p;
    expect(api.calls).toContain('patch prefs {"show_visitor_labels":true}');
    api.failNext.updatePreferences = new ApiError(400, 'validation', 'unknown preference');
    await ctl.setPreference('note_name_first', true);
    expect(store.state.customer.prefs).toEqual({ show_visitor_labels: true, note_name_first: false });
    expect(store.state.customer.prefsError).toBe('unknown preference');
  });

  it('sends quick toggles one at a time; an earlier answer does not undo a later toggle', async () => {
    const api = new GatedPrefsApi();
    const store = new Store();
    const ctl = new CustomerInfoController({ api, projectId: 1, store });
    ctl.start();
    await flush();
    const first = ctl.setPreference('note_name_first', true);
    const second = ctl.setPreference('show_visitor_labels', true);
    expect(store.state.customer.prefs).toEqual({ show_visitor_labels: true, note_name_first: true });
    await flush();
    // One PATCH at a time, so the server applies them in the order they were made.
    expect(api.gates.length).toBe(1);
    api.gates.shift()!();
    await first;
    await flush();
    // The first answer ({note_name_first: true, show_visitor_labels: false}) is not the latest word.
    expect(store.state.customer.prefs).toEqual({ show_visitor_labels: true, note_name_first: true });
    expect(api.gates.length).toBe(1);
    api.gates.shift()!();
    await second;
    expect(store.state.customer.prefs).toEqual({ show_visitor_labels: true, note_name_first: true });
    expect(api.prefs).toEqual({ show_visitor_labels: true, note_name_first: true });
    expect(api.calls.filter((c) => c.startsWith('patch prefs'))).toEqual(['patch prefs {"note_name_first":true}', 'patch prefs {"show_visitor_labels":true}']);
  });

  it('a toggle made while the preferences load is not undone by the load', async () => {
    const api = new GatedPrefsApi();
    api.gateReads = true;
    const store = new Store();
    const ctl = new CustomerInfoController({ api, projectId: 1, store });
    ctl.start();
    const toggled = ctl.setPreference('note_name_first', true);
    api.gates.shift()!(); // the GET answers: everything off
    await flush();
    expect(store.state.customer.prefs.note_name_first).toBe(true);
    expect(store.state.customer.prefsLoaded).toBe(true);
    api.gates.shift()!();
    await toggled;
    expect(store.state.customer.prefs.note_name_first).toBe(true);
  });

  it('a refused toggle goes back to what the server has, keeping a later toggle of another setting', async () => {
    const api = new GatedPrefsApi();
    const store = new Store();
    const ctl = new CustomerInfoController({ api, projectId: 1, store });
    ctl.start();
    await flush();
    api.failNext.updatePreferences = new ApiError(503, 'db_unavailable', 'try again');
    const first = ctl.setPreference('note_name_first', true);
    const second = ctl.setPreference('show_visitor_labels', true);
    await flush();
    api.gates.shift()!();
    await first;
    expect(store.state.customer.prefs).toEqual({ show_visitor_labels: true, note_name_first: false });
    expect(store.state.customer.prefsError).toBe('try again');
    await flush();
    api.gates.shift()!();
    await second;
    expect(store.state.customer.prefs).toEqual({ show_visitor_labels: true, note_name_first: false });
  });

  it('with visitor labels shown, reads the contacts of listed chats once', async () => {
    const { api, store, ctl } = setup();
    api.put(makeContact({ id: 10, labels: ['vip'] }));
    api.put(makeContact({ id: 20 }));
    ctl.start();
    await flush();
    store.dispatch({ type: 'sessionFetched', session: makeSession({ id: 1 }) });
    await flush();
    expect(api.calls.filter((c) => c.startsWith('contact '))).toEqual([]);
    await ctl.setPreference('show_visitor_labels', true);
    await flush();
    store.dispatch({ type: 'sessionFetched', session: makeSession({ id: 2 }) });
    store.dispatch({ type: 'sessionFetched', session: makeSession({ id: 1, last_seq: 1 }) });
    await flush();
    expect(api.calls.filter((c) => c.startsWith('contact ')).sort()).toEqual(['contact 10', 'contact 20']);
    expect(store.state.customer.contacts[10].labels).toEqual(['vip']);
  });

  it('saves an edit into the store, or returns the server message and changes nothing', async () => {
    const { api, store, ctl } = setup();
    api.put(makeContact({ id: 10, name: 'v', phone: '+4930111111' }));
    store.dispatch({ type: 'sessionFetched', session: makeSession({ id: 1, contact_id: 10, contact_name: 'v' }) });
    const ok = await ctl.saveContact(10, { note_name: 'Ada', phone: '+49 (30) 123-4567' });
    expect(ok.ok).toBe(true);
    expect(store.state.customer.contacts[10].phone).toBe('+49301234567');
    expect(store.state.sessions[1].note_name).toBe('Ada');
    const bad = await ctl.saveContact(10, { phone: '030' });
    expect(bad).toEqual({ ok: false, error: 'phone must be an international number: + and 8 to 15 digits (e.g. +49 30 1234567)' });
    expect(store.state.customer.contacts[10].phone).toBe('+49301234567');
  });

  it('sets session tags from the answer', async () => {
    const { api, store, ctl } = setup();
    api.tags = [
      { id: 1, name: 'Billing', color: '#ff0000' },
      { id: 2, name: 'Bug', color: '#00ff00' },
    ];
    const r = await ctl.setSessionTags(5, [2, 1]);
    expect(r.ok).toBe(true);
    expect(store.state.customer.sessionTags[5]).toEqual(api.tags);
    expect((await ctl.setSessionTags(5, [9])).ok).toBe(false);
    expect(store.state.customer.sessionTags[5]).toEqual(api.tags);
  });
});

describe('customer info controller after a reconnect', () => {
  it('re-reads the open contact (frames may have been missed)', async () => {
    const { api, store, ctl } = setup();
    api.put(makeContact({ id: 70 }));
    ctl.start();
    store.dispatch({ type: 'connection', status: 'open' });
    store.dispatch({ type: 'sessionFetched', session: makeSession({ id: 7 }) });
    store.dispatch({ type: 'open', sessionId: 7 });
    await flush();
    api.put(makeContact({ id: 70, note_name: 'Changed meanwhile', updated_at: '2026-11-24T12:00:00Z' }));
    store.dispatch({ type: 'connection', status: 'reconnecting' });
    await flush();
    expect(store.state.customer.contacts[70].note_name).toBeNull();
    store.dispatch({ type: 'connection', status: 'open' });
    await flush();
    expect(store.state.customer.contacts[70].note_name).toBe('Changed meanwhile');
    expect(store.state.sessions[7].note_name).toBe('Changed meanwhile');
  });
});
