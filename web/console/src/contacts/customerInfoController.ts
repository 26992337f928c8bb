// Side effects of customer info: loads the agent's preferences and the project's tag list,
// reads the contact and tags of the open chat (and, with "Show visitor labels", the contacts
// of listed chats), saves edits and preference toggles. Everything it learns goes into the
// inbox store as `customer` actions, so every view updates from one place.
import { ApiError, authLost } from '../api/http';
import type { Contact, ContactPatch, ContactsPort, Preferences, SessionTag } from '../api/contacts';
import type { InboxAction, InboxState } from '../inbox/reducer';

export interface InboxStore {
  getState(): InboxState;
  dispatch(action: InboxAction): void;
  subscribe(listener: () => void): () => void;
}

export interface CustomerInfoOptions {
  api: ContactsPort;
  projectId: number;
  store: InboxStore;
  onUnauthenticated?: () => void;
}

export type SaveResult = { ok: true; contact: Contact } | { ok: false; error: string };

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message || 'The server refused the change.';
  return e instanceof Error ? e.message : 'Something went wrong.';
}

export class CustomerInfoController {
  private readonly requestedContacts = new Set<number>();
  private readonly requestedTags = new Set<number>();
  private unsubscribe: (() => void) | null = null;
  private stopped = false;
  private lastOpen: number | null = null;
  private lastSessions: InboxState['sessions'] | null = null;
  private lastShowLabels = false;
  private lastConnection: InboxState['connection'] | null = null;
  private wasOpen = false;
  /** Preference PATCHes run one after another on this chain (it never rejects). */
  private prefsQueue: Promise<void> = Promise.resolve();
  /** Toggles made and not yet answered. */
  private prefsPending = 0;
  /** The preferences as the server last reported them. */
  private confirmedPrefs: Preferences | null = null;

  constructor(private readonly opts: CustomerInfoOptions) {}

  private get state(): InboxState {
    return this.opts.store.getState();
  }

  private customer(action: Extract<InboxAction, { type: 'customer' }>['action']): void {
    if (!this.stopped) this.opts.store.dispatch({ type: 'customer', action });
  }

  /** Restartable, like the inbox controller. */
  start(): void {
    this.stopped = false;
    this.requestedContacts.clear();
    this.requestedTags.clear();
    this.lastOpen = null;
    this.lastSessions = null;
    this.lastConnection = null;
    this.wasOpen = false;
    this.unsubscribe?.();
    this.unsubscribe = this.opts.store.subscribe(() => this.onStoreChange());
    void this.loadPreferences();
    void this.loadTagList();
    this.onStoreChange();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  async loadPreferences(): Promise<void> {
    try {
      const prefs = await this.opts.api.preferences(this.opts.projectId);
      this.confirmedPrefs = prefs;
      // A toggle made meanwhile is newer than this read; its own answer settles it.
      this.customer({ type: 'preferences', prefs: this.prefsPending > 0 ? this.state.customer.prefs : prefs, loaded: true });
    } catch (e) {
      if (authLost(e, this.opts.onUnauthenticated)) return;
      this.customer({ type: 'preferencesFailed', error: errorMessage(e) });
    }
  }

  async loadTagList(): Promise<void> {
    try {
      const tags = await this.opts.api.sessionTagList(this.opts.projectId);
      this.customer({ type: 'tagList', tags });
    } catch (e) {
      authLost(e, this.opts.onUnauthenticated); // the tag picker stays empty
    }
  }

  /**
   * Toggles one preference at once; the server's answer (or the old value) follows. Quick
   * toggles are sent one at a time, so the server applies them in the order they were made,
   * and only the answer to the last one replaces what is shown: an earlier answer would
   * undo a later toggle that is still on its way.
   */
  setPreference(key: keyof Preferences, value: boolean): Promise<void> {
    const before = this.state.customer.prefs;
    this.customer({ type: 'preferences', prefs: { ...before, [key]: value }, loaded: false });
    this.prefsPending += 1;
    const run = this.prefsQueue.then(async () => {
      try {
        const prefs = await this.opts.api.updatePreferences(this.opts.projectId, { [key]: value });
        this.confirmedPrefs = prefs;
        if (this.prefsPending === 1) this.customer({ type: 'preferences', prefs, loaded: true });
      } catch (e) {
        if (authLost(e, this.opts.onUnauthenticated)) return;
        const back = (this.confirmedPrefs ?? before)[key];
        this.customer({ type: 'preferences', prefs: { ...this.state.customer.prefs, [key]: back }, loaded: false });
        this.customer({ type: 'preferencesFailed', error: errorMessage(e) });
      } finally {
        this.prefsPending -= 1;
      }
    });
    this.prefsQueue = run;
    return run;
  }

  /** PATCH the contact; nothing changes on a refusal (the server applies all or nothing). */
  async saveContact(contactId: number, patch: ContactPatch): Promise<SaveResult> {
    try {
      const contact = await this.opts.api.updateContact(this.opts.projectId, contactId, patch);
      this.customer({ type: 'contact', contact });
      return { ok: true, contact };
    } catch (e) {
      if (authLost(e, this.opts.onUnauthenticated)) return { ok: false, error: 'Signed out.' };
      return { ok: false, error: errorMessage(e) };
    }
  }

  /** Replaces a session's tags (only when they are known: the PUT replaces the whole list). */
  async setSessionTags(sessionId: number, tagIds: number[]): Promise<SaveResult | { ok: true; tags: SessionTag[] }> {
    try {
      const tags = await this.opts.api.setSessionTags(this.opts.projectId, sessionId, tagIds);
      this.customer({ type: 'sessionTags', sessionId, tags });
      return { ok: true, tags };
    } catch (e) {
      if (authLost(e, this.opts.onUnauthenticated)) return { ok: false, error: 'Signed out.' };
      return { ok: false, error: errorMessage(e) };
    }
  }

  /** Reads a contact once (again after `force`), e.g. for the open chat or a labelled row. */
  async ensureContact(contactId: number, force = false): Promise<void> {
    if (!force && (this.requestedContacts.has(contactId) || this.state.customer.contacts[contactId])) return;
    this.requestedContacts.add(contactId);
    try {
      const contact = await this.opts.api.contact(this.opts.projectId, contactId);
      this.customer({ type: 'contact', contact });
    } catch (e) {
      authLost(e, this.opts.onUnauthenticated);
      this.requestedContacts.delete(contactId);
    }
  }

  async ensureSessionTags(sessionId: number, force = false): Promise<void> {
    if (!force && (this.requestedTags.has(sessionId) || this.state.customer.sessionTags[sessionId] !== undefined)) return;
    this.requestedTags.add(sessionId);
    try {
      const tags = await this.opts.api.sessionTags(this.opts.projectId, sessionId);
      this.customer({ type: 'sessionTags', sessionId, tags });
    } catch (e) {
      if (authLost(e, this.opts.onUnauthenticated)) return;
      this.customer({ type: 'sessionTags', sessionId, tags: 'unknown' });
    }
  }

  private onStoreChange(): void {
    if (this.stopped) return;
    const st = this.state;
    if (st.openSessionId !== this.lastOpen) {
      this.lastOpen = st.openSessionId;
      if (st.openSessionId !== null) {
        const s = st.sessions[st.openSessionId];
        // The details panel shows the contact as it is now.
        if (s) void this.ensureContact(s.contact_id, true);
        void this.ensureSessionTags(st.openSessionId);
        // Renaming or recolouring a tag sends no frame (docs/protocol.md): re-read the list.
        void this.loadTagList();
      }
    } else if (st.openSessionId !== null && !this.requestedContacts.has(st.sessions[st.openSessionId]?.contact_id ?? -1)) {
      // The open session arrived after it was opened (a link to /chats/42).
      const s = st.sessions[st.openSessionId];
      if (s) void this.ensureContact(s.contact_id);
    }
    if (st.connection !== this.lastConnection) {
      // Back after a drop: `contact` frames may have been missed; re-read what is shown.
      if (st.connection === 'open' && this.wasOpen) this.refreshAfterReconnect();
      if (st.connection === 'open') this.wasOpen = true;
      this.lastConnection = st.connection;
    }
    const show = st.customer.prefs.show_visitor_labels;
    if (show && (st.sessions !== this.lastSessions || !this.lastShowLabels)) {
      for (const s of Object.values(st.sessions)) void this.ensureContact(s.contact_id);
    }
    this.lastSessions = st.sessions;
    this.lastShowLabels = show;
  }

  private refreshAfterReconnect(): void {
    const st = this.state;
    this.requestedContacts.clear();
    this.requestedTags.clear();
    const open = st.openSessionId !== null ? st.sessions[st.openSessionId] : undefined;
    if (open) void this.ensureContact(open.contact_id, true);
    if (st.openSessionId !== null && st.customer.sessionTags[st.openSessionId] === 'unknown') void this.ensureSessionTags(st.openSessionId, true);
    if (st.customer.prefs.show_visitor_labels) {
      const ids = new Set(Object.values(st.sessions).map((s) => s.contact_id));
      if (open) ids.delete(open.contact_id);
      for (const id of ids) void this.ensureContact(id, true);
    }
  }

}
