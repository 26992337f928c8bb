// State of the Automation page's Data view: the range, the flow list with its figures (sorted
// as the member chose), the flows picked for comparison, and live refetches when a
// `flow_stats` frame says a flow's figures moved (debounced: a busy project refetches at most
// every couple of seconds, never later than MAX_WAIT after the first frame).
import { authLost } from '../api/http';
import type { AnalyticsApi, FlowStats, StatsPage } from '../api/analytics';
import { PatchStore } from '../lib/store';
import { Debouncer } from '../reports/debounce';
import type { ServerFrame } from '../realtime/protocol';
import { errorText } from '../settings/notificationsController';
import { DEFAULT_RANGE, rangeQuery } from './range';
import type { Range } from './range';
import { DEFAULT_SORT, nextSort, sortFlows } from './sort';
import type { Sort, SortKey } from './sort';

export type StatsApi = Pick<AnalyticsApi, 'stats'>;

export const LIVE_DELAY_MS = 400;
export const LIVE_MAX_WAIT_MS = 2500;
/** More side by side stops being a comparison. */
export const COMPARE_MAX = 4;

type Load = { kind: 'loading' } | { kind: 'ready' } | { kind: 'error'; message: string };

export interface StatsState {
  range: Range;
  rangeError: string | null;
  sort: Sort;
  load: Load;
  page: StatsPage | null;
  /** Flow ids picked for the comparison, in the order picked. */
  compare: number[];
}

export interface StatsControllerOptions {
  api: StatsApi;
  projectId: number;
  onUnauthenticated?: () => void;
  now?: () => Date;
  liveDelayMs?: number;
  liveMaxWaitMs?: number;
}

export class StatsController extends PatchStore<StatsState> {
  private gen = 0;
  private readonly live: Debouncer;
  private readonly now: () => Date;

  constructor(private readonly opts: StatsControllerOptions) {
    super({ range: DEFAULT_RANGE, rangeError: null, sort: DEFAULT_SORT, load: { kind: 'loading' }, page: null, compare: [] });
    this.now = opts.now ?? (() => new Date());
    this.live = new Debouncer(() => void this.load(), opts.liveDelayMs ?? LIVE_DELAY_MS, opts.liveMaxWaitMs ?? LIVE_MAX_WAIT_MS);
  }

  /** Restartable (StrictMode runs effects twice). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.load();
  }

  stop(): void {
    this.stopped = true;
    this.live.cancel();
  }

  /** The range's [from, to) now; null while the custom range is not valid. */
  query(): { from: string; to: string } | null {
    const q = rangeQuery(this.state.range, this.now());
    return q.ok ? { from: q.from, to: q.to } : null;
  }

  setRange(range: Range): void {
    const q = rangeQuery(range, this.now());
    this.set({ range, rangeError: q.ok ? null : q.error });
    if (q.ok) void this.load();
  }

  sortBy(key: SortKey): void {
    this.set({ sort: nextSort(this.state.sort, key) });
  }

  /** The flows as the table lists them. */
  get rows(): FlowStats[] {
    return sortFlows(this.state.page?.flows ?? [], this.state.sort);
  }

  get compared(): FlowStats[] {
    return comparedFlows(this.state);
  }

  toggleCompare(flowId: number): void {
    const c = this.state.compare;
    if (c.includes(flowId)) this.set({ compare: c.filter((id) => id !== flowId) });
    else if (c.length < COMPARE_MAX) this.set({ compare: [...c, flowId] });
  }

  clearCompare(): void {
    this.set({ compare: [] });
  }


  async load(): Promise<void> {
    const q = this.query();
    if (!q) return;
    this.live.cancel();
    const gen = ++this.gen;
    // A refetch keeps the figures on screen until the new ones arrive.
    if (!this.state.page) this.set({ load: { kind: 'loading' } });
    try {
      const page = await this.opts.api.stats(this.opts.projectId, q);
      if (gen !== this.gen) return;
      this.set({ page, load: { kind: 'ready' } });
    } catch (err) {
      if (gen !== this.gen || authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ load: { kind: 'error', message: errorText(err, 'Could not load the figures.') } });
    }
  }

  /** A socket frame: any flow's figures moving changes the list (a new flow appears too). */
  frame(frame: ServerFrame): void {
    if (this.stopped) return;
    if (frame.type === 'flow_stats' || (frame.type === 'hello' && this.state.page)) this.live.schedule();
  }
}

/** The picked flows, as the latest figures have them (a deleted flow drops out). */
export function comparedFlows(state: Pick<StatsState, 'page' | 'compare'>): FlowStats[] {
  const flows = state.page?.flows ?? [];
  return state.compare.map((id) => flows.find((f) => f.flow_id === id)).filter((f): f is FlowStats => !!f);
}
