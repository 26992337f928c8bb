// One flow's triggered visitors (the drill-down of "Triggered visitors"): the status and channel
// filters, keyset paging with the server's cursor ("Load more"), the CSV link for the same
// filter, and live refetches on the flow's `flow_stats` frames. A refetch asks again for as
// many rows as are on screen (up to the page limit), so "Load more" pages are not lost.
import { authLost } from '../api/http';
import { visitorsCsvUrl } from '../api/analytics';
import type { AnalyticsApi, FlowVisitor, VisitorFilter, VisitorStatus } from '../api/analytics';
import { PatchStore } from '../lib/store';
import { Debouncer } from '../reports/debounce';
import type { ServerFrame } from '../realtime/protocol';
import { errorText } from '../settings/notificationsController';
import { LIVE_DELAY_MS, LIVE_MAX_WAIT_MS } from './statsController';

export type VisitorsApi = Pick<AnalyticsApi, 'visitors'>;

export const VISITORS_PAGE = 50;
/** The most rows one request may ask for. */
export const VISITORS_MAX = 200;

export const STATUS_LABELS: Record<VisitorStatus, string> = {
  completed: 'Completed',
  participated: 'Participated',
  not_participated: 'Not participated',
};

export interface VisitorForm {
  status: VisitorStatus | '';
  /** A channel id, or empty (any). */
  channel: string;
}

type Load = { kind: 'loading' } | { kind: 'ready' } | { kind: 'error'; message: string };

export interface VisitorsState {
  form: VisitorForm;
  load: Load;
  items: FlowVisitor[];
  next: string | null;
  total: number | null;
  loadingMore: boolean;
  moreError: string | null;
}

export interface VisitorsControllerOptions {
  api: VisitorsApi;
  projectId: number;
  flowId: number;
  /** The Data view's [from, to) now; null: nothing to ask. */
  range: () => { from: string; to: string } | null;
  onUnauthenticated?: () => void;
  liveDelayMs?: number;
  liveMaxWaitMs?: number;
}

/** The API filter of the form and range. */
export function visitorFilter(form: VisitorForm, range: { from: string; to: string } | null): VisitorFilter {
  const f: VisitorFilter = { ...(range ?? {}) };
  if (form.status) f.status = form.status;
  if (/^\d+$/.test(form.channel)) f.channel_id = Number(form.channel);
  return f;
}

/** A further page after the rows on screen; a visitor already shown (who moved up while the
 *  member paged) is not shown twice. */
export function appendVisitors(items: readonly FlowVisitor[], more: readonly FlowVisitor[]): FlowVisitor[] {
  const have = new Set(items.map((v) => v.contact_id));
  return [...items, ...more.filter((v) => !have.has(v.contact_id))];
}

/** How many rows a refetch asks for: what is on screen, at least a page, at most the limit. */
export function refetchLimit(loaded: number): number {
  return Math.min(VISITORS_MAX, Math.max(VISITORS_PAGE, loaded));
}

export class VisitorsController extends PatchStore<VisitorsState> {
  private gen = 0;
  private readonly live: Debouncer;

  constructor(private readonly opts: VisitorsControllerOptions) {
    super({ form: { status: '', channel: '' }, load: { kind: 'loading' }, items: [], next: null, total: null, loadingMore: false, moreError: null });
    this.live = new Debouncer(() => void this.load(true), opts.liveDelayMs ?? LIVE_DELAY_MS, opts.liveMaxWaitMs ?? LIVE_MAX_WAIT_MS);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.load();
  }

  stop(): void {
    this.stopped = true;
    this.live.cancel();
  }

  get filter(): VisitorFilter {
    return visitorFilter(this.state.form, this.opts.range());
  }

  get exportUrl(): string {
    return visitorsCsvUrl(this.opts.projectId, this.opts.flowId, this.filter);
  }

  edit(change: Partial<VisitorForm>): void {
    this.set({ form: { ...this.state.form, ...change } });
    void this.load();
  }

  /** From the first page (`keep`: as many rows as are shown, for a live refetch). */
  async load(keep = false): Promise<void> {
    if (!this.opts.range()) return;
    this.live.cancel();
    const gen = ++this.gen;
    const limit = keep ? refetchLimit(this.state.items.length) : VISITORS_PAGE;
    if (!keep) this.set({ load: { kind: 'loading' }, loadingMore: false, moreError: null });
    try {
      const page = await this.opts.api.visitors(this.opts.projectId, this.opts.flowId, this.filter, { limit });
      if (gen !== this.gen) return;
      this.set({ load: { kind: 'ready' }, items: page.items, next: page.next, total: page.total, loadingMore: false });
    } catch (err) {
      if (gen !== this.gen || authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ load: { kind: 'error', message: errorText(err, 'Could not load the visitors.') } });
    }
  }

  async loadMore(): Promise<void> {
    const { next, loadingMore, load } = this.state;
    if (!next || loadingMore || load.kind !== 'ready') return;
    const gen = this.gen;
    this.set({ loadingMore: true, moreError: null });
    try {
      const page = await this.opts.api.visitors(this.opts.projectId, this.opts.flowId, this.filter, { after: next, limit: VISITORS_PAGE });
      if (gen !== this.gen) return;
      this.set({ items: appendVisitors(this.state.items, page.items), next: page.next, total: page.total, loadingMore: false });
    } catch (err) {
      if (gen !== this.gen || authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ loadingMore: false, moreError: errorText(err, 'Could not load more visitors.') });
    }
  }

  frame(frame: ServerFrame): void {
    if (this.stopped) return;
    if ((frame.type === 'flow_stats' && frame.flow_id === this.opts.flowId) || (frame.type === 'hello' && this.state.load.kind === 'ready')) this.live.schedule();
  }
}
