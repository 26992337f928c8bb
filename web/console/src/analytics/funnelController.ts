// One flow version's funnel: the version picked, its counts (refetched live on the flow's
// `flow_stats` frames), and its document to draw them on (read once per version; a version's
// document never changes). Without the document (a failed read) the funnel is drawn from its
// own steps.
import { authLost } from '../api/http';
import type { AnalyticsApi, Funnel } from '../api/analytics';
import * as D from '../automation/document';
import type { FlowDocument } from '../automation/document';
import { PatchStore } from '../lib/store';
import { Debouncer } from '../reports/debounce';
import type { ServerFrame } from '../realtime/protocol';
import { errorText } from '../settings/notificationsController';
import { funnelLayout } from './funnel';
import type { FunnelLayout } from './funnel';
import { LIVE_DELAY_MS, LIVE_MAX_WAIT_MS } from './statsController';

export type FunnelApi = Pick<AnalyticsApi, 'funnel' | 'version'>;

type Load = { kind: 'loading' } | { kind: 'ready' } | { kind: 'error'; message: string };

export interface FunnelState {
  version: number | null;
  load: Load;
  funnel: Funnel | null;
  /** undefined: not read yet; null: not available. */
  doc: FlowDocument | null | undefined;
  layout: FunnelLayout | null;
}

export interface FunnelControllerOptions {
  api: FunnelApi;
  projectId: number;
  flowId: number;
  version: number | null;
  onUnauthenticated?: () => void;
  liveDelayMs?: number;
  liveMaxWaitMs?: number;
}

export class FunnelController extends PatchStore<FunnelState> {
  private gen = 0;
  private readonly live: Debouncer;

  constructor(private readonly opts: FunnelControllerOptions) {
    super({ version: opts.version, load: { kind: 'loading' }, funnel: null, doc: undefined, layout: null });
    this.live = new Debouncer(() => void this.loadCounts(), opts.liveDelayMs ?? LIVE_DELAY_MS, opts.liveMaxWaitMs ?? LIVE_MAX_WAIT_MS);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.load();
  }

  stop(): void {
    this.stopped = true;
    this.live.cancel();
  }

  setVersion(version: number): void {
    if (version === this.state.version) return;
    this.set({ version, funnel: null, doc: undefined, layout: null });
    void this.load();
  }

  /** The document and the counts of the current version. */
  async load(): Promise<void> {
    const v = this.state.version;
    if (v === null) return;
    this.set({ load: { kind: 'loading' } });
    await Promise.all([this.loadDoc(v), this.loadCounts()]);
  }

  private async loadDoc(v: number): Promise<void> {
    let doc: FlowDocument | null = null;
    try {
      const res = await this.opts.api.version(this.opts.projectId, this.opts.flowId, v);
      doc = D.normalize(res.document);
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
    }
    if (v !== this.state.version) return;
    this.set({ doc, layout: this.state.funnel ? funnelLayout(doc, this.state.funnel) : null });
  }

  async loadCounts(): Promise<void> {
    const v = this.state.version;
    if (v === null) return;
    this.live.cancel();
    const gen = ++this.gen;
    try {
      const funnel = await this.opts.api.funnel(this.opts.projectId, this.opts.flowId, v);
      if (gen !== this.gen || v !== this.state.version) return;
      const doc = this.state.doc;
      // Until the document is in (or known missing), the counts wait for it to be drawn.
      this.set({ funnel, load: { kind: 'ready' }, layout: doc === undefined ? null : funnelLayout(doc, funnel) });
    } catch (err) {
      if (gen !== this.gen || authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ load: { kind: 'error', message: errorText(err, 'Could not load the funnel.') } });
    }
  }

  frame(frame: ServerFrame): void {
    if (this.stopped) return;
    if ((frame.type === 'flow_stats' && frame.flow_id === this.opts.flowId) || (frame.type === 'hello' && this.state.funnel)) this.live.schedule();
  }
}
