// State and side effects of the session management page: the filter, the summary (refreshed
// shortly after session events, debounced), the Ongoing and Ended lists with paging, and the
// live updates from the agent socket. The page only renders `getState()`.
import { ApiError, authLost } from '../api/http';
import { csvUrl } from '../api/reports';
import type { ChannelInfo, ReportFilter, ReportsApi, ReportSummary } from '../api/reports';
import type { Member } from '../api/types';
import { EMPTY_FILTER, filterFromForm, tabFilter } from './filters';
import type { FilterForm, RecordTab } from './filters';
import { Debouncer } from './debounce';
import { appendPage, applyFrame, liveFrom } from './liveRecords';
import type { LiveContext, LiveFrame, LiveRecords } from './liveRecords';
import { PatchStore } from '../lib/store';

export type SessionsApi = Pick<ReportsApi, 'records' | 'summary' | 'channels'>;

export const RECORDS_PAGE = 50;
export const SUMMARY_DELAY_MS = 800;
export const SUMMARY_MAX_WAIT_MS = 4000;

export interface SessionsState {
  form: FilterForm;
  formError: string | null;
  /** The filter in effect (the last valid form), without status. */
  filter: ReportFilter;
  tab: RecordTab;
  list: { kind: 'loading' | 'ready' } | { kind: 'error'; message: string };
  records: LiveRecords;
  nextCursor: string | null;
  loadingMore: boolean;
  summary: ReportSummary | null;
  summaryError: string | null;
  channels: ChannelInfo[];
}

export interface SessionsControllerOptions {
  api: SessionsApi;
  projectId: number;
  /** Who is looking (data scope from the socket's `hello` may change it). */
  viewer: () => { userId: number; dataScope: 'own' | 'all' };
  members: () => readonly Member[];
  onUnauthenticated?: () => void;
  summaryDelayMs?: number;
  summaryMaxWaitMs?: number;
  initialForm?: FilterForm;
}

function errorText(err: unknown, fallback: string): string {
  return err instanceof ApiError ? err.message || fallback : fallback;
}

function initialState(form: FilterForm): SessionsState {
  const f = filterFromForm(form);
  return {
    form,
    formError: f.ok ? null : f.error,
    filter: f.ok ? f.filter : {},
    tab: 'ongoing',
    list: { kind: 'loading' },
    records: liveFrom([]),
    nextCursor: null,
    loadingMore: false,
    summary: null,
    summaryError: null,
    channels: [],
  };
}

export class SessionsController extends PatchStore<SessionsState> {
  private readonly summaryDebounce: Debouncer;
  private listGen = 0;
  private summaryGen = 0;

  constructor(private readonly opts: SessionsControllerOptions) {
    super(initialState(opts.initialForm ?? EMPTY_FILTER));
    this.summaryDebounce = new Debouncer(() => void this.loadSummary(), opts.summaryDelayMs ?? SUMMARY_DELAY_MS, opts.summaryMaxWaitMs ?? SUMMARY_MAX_WAIT_MS);
  }


  /** Restartable (StrictMode runs effects twice). */
  async start(): Promise<void> {
    this.stopped = false;
    void this.loadChannels();
    await Promise.all([this.loadList(), this.loadSummary()]);
  }

  stop(): void {
    this.stopped = true;
    this.summaryDebounce.cancel();
  }

  /** The CSV export of what the current tab lists. */
  get exportUrl(): string {
    return csvUrl(this.opts.projectId, tabFilter(this.state.filter, this.state.tab));
  }

  edit(change: Partial<FilterForm>): void {
    const form = { ...this.state.form, ...change };
    const f = filterFromForm(form);
    if (!f.ok) {
      this.set({ form, formError: f.error });
      return;
    }
    this.set({ form, formError: null, filter: f.filter });
    void this.reload();
  }

  clearFilters(): void {
    this.edit(EMPTY_FILTER);
  }

  setTab(tab: RecordTab): void {
    if (tab === this.state.tab) return;
    this.set({ tab });
    void this.loadList();
  }

  /** Both the list and the summary, now (a filter change, "show new", a reconnect). */
  async reload(): Promise<void> {
    this.summaryDebounce.cancel();
    await Promise.all([this.loadList(), this.loadSummary()]);
  }

  async loadList(): Promise<void> {
    const gen = ++this.listGen;
    this.set({ list: { kind: 'loading' }, loadingMore: false });
    try {
      const page = await this.opts.api.records(this.opts.projectId, tabFilter(this.state.filter, this.state.tab), { limit: RECORDS_PAGE });
      if (gen !== this.listGen) return;
      this.set({ list: { kind: 'ready' }, records: liveFrom(page.items), nextCursor: page.next_cursor });
    } catch (err) {
      if (gen !== this.listGen || authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ list: { kind: 'error', message: errorText(err, 'Could not load the sessions.') } });
    }
  }

  async loadMore(): Promise<void> {
    const { nextCursor, loadingMore, list } = this.state;
    if (!nextCursor || loadingMore || list.kind !== 'ready') return;
    const gen = this.listGen;
    this.set({ loadingMore: true });
    try {
      const page = await this.opts.api.records(this.opts.projectId, tabFilter(this.state.filter, this.state.tab), { cursor: nextCursor, limit: RECORDS_PAGE });
      if (gen !== this.listGen) return;
      this.set({ records: appendPage(this.state.records, page.items), nextCursor: page.next_cursor, loadingMore: false });
    } catch (err) {
      if (gen !== this.listGen || authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ loadingMore: false, list: { kind: 'error', message: errorText(err, 'Could not load more sessions.') } });
    }
  }

  async loadSummary(): Promise<void> {
    const gen = ++this.summaryGen;
    try {
      const summary = await this.opts.api.summary(this.opts.projectId, this.state.filter);
      if (gen !== this.summaryGen) return;
      this.set({ summary, summaryError: null });
    } catch (err) {
      if (gen !== this.summaryGen || authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ summaryError: errorText(err, 'Could not load the summary.') });
    }
  }

  private async loadChannels(): Promise<void> {
    try {
      const channels = await this.opts.api.channels(this.opts.projectId);
      this.set({ channels });
    } catch (err) {
      authLost(err, this.opts.onUnauthenticated); // the channel filter then offers "Any" only
    }
  }

  private context(): LiveContext {
    const v = this.opts.viewer();
    return { tab: this.state.tab, filter: this.state.filter, members: this.opts.members(), userId: v.userId, dataScope: v.dataScope };
  }

  /** A socket frame (after the inbox applied it). */
  frame(frame: LiveFrame): void {
    if (this.stopped) return;
    if (frame.type === 'hello') {
      // (Re)connected: events may have been missed while away.
      if (this.state.list.kind !== 'loading') void this.reload();
      return;
    }
    if (frame.type === 'session') this.summaryDebounce.schedule();
    if (this.state.list.kind !== 'ready') return;
    const records = applyFrame(this.state.records, frame, this.context());
    if (records !== this.state.records) this.set({ records });
  }
}
