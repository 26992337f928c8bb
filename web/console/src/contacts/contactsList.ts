// The Contacts page's list: search (name or note name), a note-name filter, "Load more"
// paging by `next_before`, and dropping answers of superseded searches. Rows are shown
// through the inbox store (liveContact), so `contact` frames and edits update them live.
import type { Contact, ContactsPort } from '../api/contacts';
import { errorMessage } from './customerInfoController';
import { PatchStore } from '../lib/store';

export interface ContactsListState {
  query: string;
  noteFilter: string;
  items: readonly Contact[];
  nextBefore: number | null;
  loading: boolean;
  loaded: boolean;
  error: string | null;
}

export const CONTACTS_PAGE_SIZE = 50;
export const SEARCH_DEBOUNCE_MS = 300;

export interface ContactsListOptions {
  api: Pick<ContactsPort, 'contacts'>;
  projectId: number;
  debounceMs?: number;
  onUnauthenticated?: () => void;
}

const INITIAL_CONTACTS_LIST: ContactsListState = { query: '', noteFilter: '', items: [], nextBefore: null, loading: false, loaded: false, error: null };

export class ContactsListController extends PatchStore<ContactsListState> {
  private generation = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly opts: ContactsListOptions) {
    super(INITIAL_CONTACTS_LIST);
  }

  start(): void {
    this.stopped = false;
    void this.load('replace');
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Typing in the search box or the note-name filter: reload after a short pause. */
  setSearch(patch: { query?: string; noteFilter?: string }): void {
    this.set(patch);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.load('replace');
    }, this.opts.debounceMs ?? SEARCH_DEBOUNCE_MS);
  }

  loadMore(): void {
    if (this.state.loading || this.state.nextBefore === null) return;
    void this.load('append');
  }

  reload(): void {
    void this.load('replace');
  }

  private async load(mode: 'replace' | 'append'): Promise<void> {
    const generation = mode === 'replace' ? ++this.generation : this.generation;
    const { query, noteFilter, nextBefore } = this.state;
    this.set({ loading: true, error: null });
    try {
      const page = await this.opts.api.contacts(this.opts.projectId, {
        q: query,
        noteName: noteFilter,
        before: mode === 'append' ? nextBefore : null,
        limit: CONTACTS_PAGE_SIZE,
      });
      if (generation !== this.generation) return;
      const items = mode === 'append' ? mergeById(this.state.items, page.items) : page.items;
      this.set({ items, nextBefore: page.next_before, loading: false, loaded: true });
    } catch (e) {
      if (generation !== this.generation) return;
      if (e && typeof e === 'object' && 'status' in e && (e as { status: number }).status === 401) this.opts.onUnauthenticated?.();
      this.set({ loading: false, error: errorMessage(e) });
    }
  }
}

function mergeById(a: readonly Contact[], b: readonly Contact[]): Contact[] {
  const seen = new Set(a.map((c) => c.id));
  return [...a, ...b.filter((c) => !seen.has(c.id))];
}
