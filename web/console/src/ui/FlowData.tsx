// The Automation page's Data view: the flows with their figures over a range (sortable, some
// side by side), one flow's triggered visitors (the drill-down; a row opens the chat), and one
// version's funnel on its graph and as bars. Renders the analytics/ controllers' state; each
// view refetches what it shows when a `flow_stats` frame says its figures moved.
import { memo, useEffect, useId, useMemo, useState, useSyncExternalStore } from 'react';
import type { MouseEvent, ReactNode } from 'react';
import { Background, Controls, ReactFlow } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import type { AnalyticsApi, FlowStats, FlowVisitor, VisitorStatus } from '../api/analytics';
import type { ChannelView } from '../api/channels';
import { TRIGGER_LABELS } from '../automation/document';
import { percent, rateWithCounts, share } from '../analytics/format';
import { versionChoices } from '../analytics/funnel';
import type { FunnelLayout } from '../analytics/funnel';
import { FunnelController } from '../analytics/funnelController';
import { PRESETS, rangeDays, rangeLabel } from '../analytics/range';
import { ariaSort, sortFlows } from '../analytics/sort';
import type { SortKey } from '../analytics/sort';
import { COMPARE_MAX, comparedFlows } from '../analytics/statsController';
import type { StatsController, StatsState } from '../analytics/statsController';
import { STATUS_LABELS, VisitorsController } from '../analytics/visitorsController';
import { avatarTone, initials } from '../lib/initials';
import { fullTime } from '../lib/time';
import type { DataRoute } from '../lib/route';
import { contactLabel } from '../reports/format';
import type { ServerFrame } from '../realtime/protocol';
import { StepNodeView } from './FlowEditor';

export type SubscribeFrames = (listener: (frame: ServerFrame) => void) => () => void;

interface Common {
  api: AnalyticsApi;
  projectId: number;
  stats: StatsController;
  subscribeFrames?: SubscribeFrames;
  onNavigate: (to: DataRoute) => void;
  onUnauthenticated: () => void;
}

/** Follows a plain left click in the page; a modified one is left to the browser. */
function follow(e: MouseEvent, go: () => void) {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  go();
}

function useStats(stats: StatsController, subscribeFrames?: SubscribeFrames): StatsState {
  useEffect(() => {
    void stats.start();
    const off = subscribeFrames?.((f) => stats.frame(f));
    return () => {
      off?.();
      stats.stop();
    };
  }, [stats, subscribeFrames]);
  return useSyncExternalStore(stats.subscribe, stats.getState);
}

export function RangePicker({ stats, state }: { stats: StatsController; state: StatsState }) {
  const id = useId();
  const now = new Date();
  const days = rangeDays(state.range, now);
  const custom = state.range.kind === 'custom' ? state.range : null;
  const from = custom ? custom.from : (days?.from ?? '');
  const to = custom ? custom.to : (days?.to ?? '');
  return (
    <div className="data-range" role="group" aria-label="Time range">
      <div className="sm-preset-row">
        {PRESETS.map((p) => {
          const on = state.range.kind === 'preset' && state.range.preset === p.id;
          return (
            <button
              key={p.id}
              type="button"
              className={`btn btn-sm ${on ? 'btn-primary' : 'btn-ghost'}`}
              aria-pressed={on}
              data-testid={`data-range-${p.id}`}
              onClick={() => stats.setRange({ kind: 'preset', preset: p.id })}
            >
              {p.label}
            </button>
          );
        })}
      </div>
      <label className="data-range-day" htmlFor={`${id}-from`}>
        From
      </label>
      <input id={`${id}-from`} type="date" data-testid="data-range-from" value={from} onChange={(e) => stats.setRange({ kind: 'custom', from: e.target.value, to })} />
      <label className="data-range-day" htmlFor={`${id}-to`}>
        to
      </label>
      <input id={`${id}-to`} type="date" data-testid="data-range-to" value={to} onChange={(e) => stats.setRange({ kind: 'custom', from, to: e.target.value })} />
      <span className="muted data-range-label" data-testid="data-range-label">
        {rangeLabel(state.range, now)}
      </span>
      {state.rangeError && (
        <p className="inline-error" role="alert" data-testid="data-range-error">
          {state.rangeError}
        </p>
      )}
    </div>
  );
}

const COLUMNS: { key: SortKey; label: string; num: boolean }[] = [
  { key: 'name', label: 'Flow', num: false },
  { key: 'trigger_times', label: 'Trigger times', num: true },
  { key: 'triggered_visitors', label: 'Triggered visitors', num: true },
  { key: 'participation', label: 'Participation', num: true },
  { key: 'completion_rate', label: 'Completion rate', num: true },
];

/** The flow list with figures. */
export function FlowDataList({ stats, subscribeFrames, onNavigate }: Pick<Common, 'stats' | 'subscribeFrames' | 'onNavigate'>) {
  const state = useStats(stats, subscribeFrames);
  const rows = useMemo(() => sortFlows(state.page?.flows ?? [], state.sort), [state.page, state.sort]);
  const compared = useMemo(() => comparedFlows(state), [state]);
  return (
    <section className="flow-data" data-testid="flow-data" aria-busy={state.load.kind === 'loading'}>
      <RangePicker stats={stats} state={state} />
      {state.load.kind === 'error' && (
        <div className="notice notice-danger" role="alert" data-testid="flow-data-error">
          <span>{state.load.message}</span>{' '}
          <button type="button" className="link" onClick={() => void stats.load()}>
            Try again
          </button>
        </div>
      )}
      {state.load.kind === 'loading' && !state.page && <p className="muted">Loading…</p>}
      {state.page && state.page.flows.length === 0 && (
        <p className="muted" data-testid="flow-data-empty">
          No flows yet.
        </p>
      )}
      {rows.length > 0 && (
        <table className="flow-table data-table" data-testid="flow-stats">
          <thead>
            <tr>
              <th scope="col" className="data-compare-col">
                <span className="visually-hidden">Compare</span>
              </th>
              {COLUMNS.map((c) => (
                <th key={c.key} scope="col" aria-sort={ariaSort(state.sort, c.key)} className={c.num ? 'sm-num' : undefined}>
                  <button type="button" className="data-sort" data-testid={`sort-${c.key}`} onClick={() => stats.sortBy(c.key)}>
                    {c.label}
                    <span className="data-sort-mark" aria-hidden="true">
                      {state.sort.key === c.key ? (state.sort.dir === 'asc' ? '▲' : '▼') : ''}
                    </span>
                  </button>
                </th>
              ))}
              <th scope="col">
                <span className="visually-hidden">Funnel</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((f) => (
              <StatsRow
                key={f.flow_id}
                flow={f}
                picked={state.compare.includes(f.flow_id)}
                canPick={state.compare.length < COMPARE_MAX}
                onPick={() => stats.toggleCompare(f.flow_id)}
                onNavigate={onNavigate}
              />
            ))}
          </tbody>
        </table>
      )}
      {compared.length > 0 && <ComparePanel flows={compared} onClear={() => stats.clearCompare()} />}
      {rows.length > 1 && compared.length === 0 && <p className="muted data-hint">Tick flows to compare them side by side.</p>}
    </section>
  );
}

function StatsRow({ flow: f, picked, canPick, onPick, onNavigate }: { flow: FlowStats; picked: boolean; canPick: boolean; onPick: () => void; onNavigate: (to: DataRoute) => void }) {
  const visitors: DataRoute = { page: 'visitors', flowId: f.flow_id };
  const funnel: DataRoute = { page: 'funnel', flowId: f.flow_id };
  return (
    <tr data-testid="flow-stats-row" data-flow-id={f.flow_id} className={picked ? 'data-row-picked' : undefined}>
      <td className="data-compare-col">
        <input type="checkbox" data-testid="flow-compare" aria-label={`Compare ${f.name}`} checked={picked} disabled={!picked && !canPick} onChange={onPick} />
      </td>
      <td>
        <span className="flow-row-name-plain" data-testid="flow-stats-name">
          {f.name}
        </span>
        <span className="sm-sub">
          {TRIGGER_LABELS[f.trigger_kind] ?? f.trigger_kind}
          {f.enabled ? '' : ' · disabled'}
        </span>
      </td>
      <td className="sm-num" data-testid="stat-trigger-times">
        {f.trigger_times.toLocaleString()}
      </td>
      <td className="sm-num">
        <a
          href={`/automation/data/${f.flow_id}/visitors`}
          className="data-drill"
          data-testid="stat-triggered-visitors"
          title="List the triggered visitors"
          onClick={(e) => follow(e, () => onNavigate(visitors))}
        >
          {f.triggered_visitors.toLocaleString()}
        </a>
      </td>
      <td className="sm-num" data-testid="stat-participation">
        {rateWithCounts(f.participation, f.participants, f.triggered_visitors)}
      </td>
      <td className="sm-num" data-testid="stat-completion">
        {rateWithCounts(f.completion_rate, f.completed_visitors, f.triggered_visitors)}
      </td>
      <td>
        {f.published_version !== null && (
          <a href={`/automation/data/${f.flow_id}/funnel`} className="link" data-testid="open-funnel" onClick={(e) => follow(e, () => onNavigate(funnel))}>
            Funnel
          </a>
        )}
      </td>
    </tr>
  );
}

const METRICS: { key: 'trigger_times' | 'triggered_visitors' | 'participation' | 'completion_rate'; label: string }[] = [
  { key: 'trigger_times', label: 'Trigger times' },
  { key: 'triggered_visitors', label: 'Triggered visitors' },
  { key: 'participation', label: 'Participation' },
  { key: 'completion_rate', label: 'Completion rate' },
];

/** The picked flows, metric by metric: counts scaled to the largest, rates to 100%. */
function ComparePanel({ flows, onClear }: { flows: FlowStats[]; onClear: () => void }) {
  return (
    <section className="data-compare settings-card settings-card-pad" data-testid="compare-panel" aria-label="Comparison">
      <div className="data-compare-head">
        <p className="flow-side-title">Side by side</p>
        <button type="button" className="link" data-testid="compare-clear" onClick={onClear}>
          Clear
        </button>
      </div>
      <div className="data-compare-grid">
        {METRICS.map((m) => {
          const rate = m.key === 'participation' || m.key === 'completion_rate';
          const max = Math.max(1, ...flows.map((f) => (rate ? 1 : f[m.key] ?? 0)));
          return (
            <div key={m.key} className="data-compare-metric" data-testid="compare-metric" data-metric={m.key}>
              <p className="data-compare-label">{m.label}</p>
              {flows.map((f, i) => {
                const v = f[m.key];
                const width = rate ? (v ?? 0) : share(v ?? 0, max);
                const text =
                  m.key === 'participation'
                    ? rateWithCounts(f.participation, f.participants, f.triggered_visitors)
                    : m.key === 'completion_rate'
                      ? rateWithCounts(f.completion_rate, f.completed_visitors, f.triggered_visitors)
                      : String(v);
                return (
                  <div key={f.flow_id} className="data-compare-bar-row" data-flow-id={f.flow_id}>
                    <span className="data-compare-name">{f.name}</span>
                    <span className="data-bar-track">
                      <span className={`data-bar data-bar-tone-${i % 4}`} style={{ width: `${Math.round(width * 1000) / 10}%` }} />
                    </span>
                    <span className="data-compare-value" data-testid="compare-value">
                      {text}
                    </span>
                  </div>
                );
              })}
            </div>
          );
        })}
      </div>
    </section>
  );
}

function BackToData({ onNavigate }: { onNavigate: (to: DataRoute) => void }) {
  return (
    <a href="/automation/data" className="btn btn-ghost btn-sm" data-testid="data-back" onClick={(e) => follow(e, () => onNavigate({ page: 'list' }))}>
      ← All flows
    </a>
  );
}

function flowOf(state: StatsState, flowId: number): FlowStats | undefined {
  return state.page?.flows.find((f) => f.flow_id === flowId);
}

interface VisitorsProps extends Common {
  flowId: number;
  channels: () => Promise<ChannelView[]>;
  onOpenChat: (sessionId: number) => void;
}

/** One flow's triggered visitors. */
export function FlowVisitors({ api, projectId, stats, subscribeFrames, flowId, channels, onNavigate, onOpenChat, onUnauthenticated }: VisitorsProps) {
  const sstate = useStats(stats, subscribeFrames);
  const [controller] = useState(() => new VisitorsController({ api, projectId, flowId, range: () => stats.query(), onUnauthenticated }));
  useEffect(() => {
    void controller.start();
    const off = subscribeFrames?.((f) => controller.frame(f));
    return () => {
      off?.();
      controller.stop();
    };
  }, [controller, subscribeFrames]);
  // The range is the Data view's: a change there lists again.
  const rangeKey = JSON.stringify(sstate.range);
  const [shownRange, setShownRange] = useState(rangeKey);
  useEffect(() => {
    if (rangeKey === shownRange) return;
    setShownRange(rangeKey);
    void controller.load();
  }, [rangeKey, shownRange, controller]);
  const state = useSyncExternalStore(controller.subscribe, controller.getState);
  const [channelList, setChannelList] = useState<{ id: number; name: string }[]>([]);
  useEffect(() => {
    let live = true;
    channels().then(
      (c) => live && setChannelList(c.map((x) => ({ id: x.id, name: x.name }))),
      () => undefined, // the filter then offers the channels of the rows shown
    );
    return () => {
      live = false;
    };
  }, [channels]);
  const channelOptions = useMemo(() => {
    const out = [...channelList];
    for (const v of state.items) if (!out.some((c) => c.id === v.channel_id)) out.push({ id: v.channel_id, name: v.channel_name });
    return out;
  }, [channelList, state.items]);
  const flow = flowOf(sstate, flowId);
  const id = useId();

  return (
    <section className="flow-data" data-testid="flow-visitors" data-flow-id={flowId} aria-busy={state.load.kind === 'loading'}>
      <div className="data-subhead">
        <BackToData onNavigate={onNavigate} />
        <h2 className="data-title">
          Triggered visitors{flow ? ` · ${flow.name}` : ''}
        </h2>
        <span className="topbar-spacer" />
        {flow && flow.published_version !== null && (
          <a href={`/automation/data/${flowId}/funnel`} className="btn btn-sm btn-ghost" data-testid="open-funnel" onClick={(e) => follow(e, () => onNavigate({ page: 'funnel', flowId }))}>
            Funnel
          </a>
        )}
        <a className="btn btn-sm" data-testid="visitors-export" href={controller.exportUrl} download title="Download the visitors matching the filters as CSV">
          Export CSV
        </a>
      </div>
      <RangePicker stats={stats} state={sstate} />
      <form className="sm-filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <div className="sm-field">
          <label htmlFor={`${id}-status`}>Status</label>
          <select id={`${id}-status`} data-testid="visitors-status" value={state.form.status} onChange={(e) => controller.edit({ status: e.target.value as VisitorStatus | '' })}>
            <option value="">Any status</option>
            {(Object.keys(STATUS_LABELS) as VisitorStatus[]).map((s) => (
              <option key={s} value={s}>
                {STATUS_LABELS[s]}
              </option>
            ))}
          </select>
        </div>
        <div className="sm-field">
          <label htmlFor={`${id}-ch`}>Channel</label>
          <select id={`${id}-ch`} data-testid="visitors-channel" value={state.form.channel} onChange={(e) => controller.edit({ channel: e.target.value })}>
            <option value="">Any channel</option>
            {channelOptions.map((c) => (
              <option key={c.id} value={String(c.id)}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <div className="sm-field">
          <span className="sm-label-spacer" aria-hidden="true" />
          <span className="muted" data-testid="visitors-total" data-total={state.total ?? ''}>
            {state.total === null ? '' : state.total === 1 ? '1 visitor' : `${state.total.toLocaleString()} visitors`}
          </span>
        </div>
      </form>
      {state.load.kind === 'error' && (
        <div className="notice notice-danger" role="alert" data-testid="visitors-error">
          <span>{state.load.message}</span>{' '}
          <button type="button" className="link" onClick={() => void controller.load()}>
            Try again
          </button>
        </div>
      )}
      <div className="sm-list">
        <table className="sm-table" data-testid="visitors-list" data-count={state.items.length}>
          <thead>
            <tr>
              <th scope="col">Visitor</th>
              <th scope="col">Status</th>
              <th scope="col" className="sm-num">
                Triggers
              </th>
              <th scope="col">Channel</th>
              <th scope="col">First triggered</th>
              <th scope="col">Last triggered</th>
            </tr>
          </thead>
          <tbody>
            {state.items.map((v) => (
              <VisitorRow key={v.contact_id} visitor={v} onOpen={onOpenChat} />
            ))}
          </tbody>
        </table>
        {state.load.kind === 'loading' && state.items.length === 0 && <p className="sm-empty muted">Loading…</p>}
        {state.load.kind === 'ready' && state.items.length === 0 && (
          <p className="sm-empty" data-testid="visitors-empty">
            No visitors match the filters.
          </p>
        )}
        {state.moreError && (
          <p className="inline-error sm-empty" role="alert">
            {state.moreError}
          </p>
        )}
        {state.next && state.load.kind === 'ready' && (
          <div className="sm-more">
            <button type="button" className="btn btn-sm" data-testid="visitors-more" disabled={state.loadingMore} onClick={() => void controller.loadMore()}>
              {state.loadingMore ? 'Loading…' : 'Load more'}
            </button>
          </div>
        )}
      </div>
    </section>
  );
}

function Avatar({ visitor: v }: { visitor: FlowVisitor }) {
  const [broken, setBroken] = useState(false);
  if (v.avatar_url && !broken) return <img className="avatar avatar-sm" src={v.avatar_url} alt="" onError={() => setBroken(true)} />;
  return (
    <span className={`avatar avatar-sm avatar-tone-${avatarTone(v.contact_id)}`} aria-hidden="true">
      {initials(contactLabel(v))}
    </span>
  );
}

function VisitorRow({ visitor: v, onOpen }: { visitor: FlowVisitor; onOpen: (sessionId: number) => void }) {
  const sid = v.last_session_id;
  const open = (e: MouseEvent) => {
    if (sid === null) return;
    follow(e, () => onOpen(sid));
  };
  const label = contactLabel(v);
  return (
    <tr
      className={sid === null ? undefined : 'sm-row'}
      data-testid="visitor-row"
      data-contact-id={v.contact_id}
      data-session-id={sid ?? ''}
      data-status={v.status}
      onClick={open}
    >
      <td>
        <span className="data-visitor">
          <Avatar visitor={v} />
          <span>
            {sid === null ? (
              <span className="sm-contact" data-testid="visitor-name">
                {label}
              </span>
            ) : (
              <a className="sm-contact" href={`/chats/${sid}`} data-testid="visitor-name">
                {label}
              </a>
            )}
            {v.note_name?.trim() && v.note_name.trim() !== v.name && <span className="sm-sub">{v.name}</span>}
          </span>
        </span>
      </td>
      <td>
        <span className={`data-status data-status-${v.status}`} data-testid="visitor-status">
          {STATUS_LABELS[v.status] ?? v.status}
        </span>
      </td>
      <td className="sm-num" data-testid="visitor-triggers">
        {v.triggers}
      </td>
      <td className="sm-channel">{v.channel_name}</td>
      <td>
        <time dateTime={v.first_triggered_at}>{fullTime(v.first_triggered_at)}</time>
      </td>
      <td>
        <time dateTime={v.last_triggered_at}>{fullTime(v.last_triggered_at)}</time>
      </td>
    </tr>
  );
}

const NODE_TYPES = { step: memo(StepNodeView) };

interface FunnelProps extends Common {
  flowId: number;
}

/** One version's funnel: the graph with counts, and the bars in graph order. */
export function FlowFunnel({ api, projectId, stats, subscribeFrames, flowId, onNavigate, onUnauthenticated }: FunnelProps) {
  const sstate = useStats(stats, subscribeFrames);
  const flow = flowOf(sstate, flowId);
  const published = flow?.published_version ?? null;
  const [controller] = useState(() => new FunnelController({ api, projectId, flowId, version: null, onUnauthenticated }));
  useEffect(() => {
    void controller.start();
    const off = subscribeFrames?.((f) => controller.frame(f));
    return () => {
      off?.();
      controller.stop();
    };
  }, [controller, subscribeFrames]);
  // The published version is the first shown, once the figures say which it is.
  useEffect(() => {
    if (published !== null && controller.getState().version === null) controller.setVersion(published);
  }, [published, controller]);
  const state = useSyncExternalStore(controller.subscribe, controller.getState);
  const versions = versionChoices(published);

  return (
    <section className="flow-data flow-funnel" data-testid="flow-funnel" data-flow-id={flowId}>
      <div className="data-subhead">
        <BackToData onNavigate={onNavigate} />
        <h2 className="data-title">Funnel{flow ? ` · ${flow.name}` : ''}</h2>
        <label className="data-version">
          <span>Version</span>
          <select data-testid="funnel-version" value={state.version ?? ''} disabled={versions.length === 0} onChange={(e) => controller.setVersion(Number(e.target.value))}>
            {versions.length === 0 && <option value="">—</option>}
            {versions.map((v) => (
              <option key={v} value={v}>
                v{v}
                {v === published ? ' (live)' : ''}
              </option>
            ))}
          </select>
        </label>
        <span className="topbar-spacer" />
        <a href={`/automation/data/${flowId}/visitors`} className="btn btn-sm btn-ghost" data-testid="open-visitors" onClick={(e) => follow(e, () => onNavigate({ page: 'visitors', flowId }))}>
          Visitors
        </a>
      </div>
      {sstate.page && published === null && <p className="muted">This flow has no published version yet.</p>}
      {state.load.kind === 'error' && (
        <div className="notice notice-danger" role="alert" data-testid="funnel-error">
          <span>{state.load.message}</span>{' '}
          <button type="button" className="link" onClick={() => void controller.load()}>
            Try again
          </button>
        </div>
      )}
      {state.layout ? <FunnelBody layout={state.layout} bare={state.doc === null} /> : state.version !== null && state.load.kind === 'loading' && <p className="muted">Loading…</p>}
    </section>
  );
}

function FunnelBody({ layout, bare }: { layout: FunnelLayout; bare: boolean }) {
  const nodes = useMemo(() => layout.nodes.map((n) => ({ ...n, type: 'step' as const, draggable: false, selectable: false, connectable: false })), [layout]);
  const edges = useMemo(
    () => layout.edges.map((e) => ({ ...e, label: e.label, className: e.taken > 0 ? 'funnel-edge-taken' : 'funnel-edge-idle', style: { strokeWidth: e.taken > 0 ? 2 : 1 } })),
    [layout],
  );
  return (
    <>
      <div className="funnel-summary">
        <Figure testId="funnel-runs" label="Runs" value={layout.runs} />
        <Figure testId="funnel-completed" label="Completed" value={layout.completed} sub={percent(layout.runs ? layout.completed / layout.runs : null)} />
      </div>
      <div className="funnel-graph" data-testid="funnel-graph">
        {bare && <p className="muted funnel-bare">The version's steps are drawn without its settings.</p>}
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={NODE_TYPES}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={false}
          edgesFocusable={false}
          fitView
          fitViewOptions={{ maxZoom: 1 }}
          proOptions={{ hideAttribution: true }}
        >
          <Background />
          <Controls showInteractive={false} />
        </ReactFlow>
      </div>
      <section className="funnel-bars" data-testid="funnel-bars" aria-label="Funnel">
        <p className="flow-side-title">Runs reaching each step</p>
        {layout.bars.map((b) => (
          <div key={b.step_id} className="funnel-bar-row" data-testid="funnel-bar" data-step-id={b.step_id} data-reached={b.reached} data-waiting={b.waiting} data-stopped={b.stopped}>
            <span className="funnel-bar-label">
              {b.label} <span className="muted">{b.step_id}</span>
            </span>
            <span className="data-bar-track">
              <span className="data-bar data-bar-tone-0" style={{ width: `${Math.round(b.share * 1000) / 10}%` }} />
            </span>
            <span className="funnel-bar-value">
              <b>{b.reached}</b> · {percent(b.share)}
              {b.waiting > 0 && <span className="flow-node-waiting"> · {b.waiting} waiting</span>}
              {b.stopped > 0 && <span className="flow-node-stopped"> · {b.stopped} stopped</span>}
            </span>
          </div>
        ))}
      </section>
    </>
  );
}

function Figure({ testId, label, value, sub }: { testId: string; label: string; value: number; sub?: ReactNode }) {
  return (
    <div className="sm-stat">
      <span className="sm-stat-value" data-testid={testId}>
        {value.toLocaleString()}
      </span>
      <span className="sm-stat-label">
        {label}
        {sub ? <> · {sub}</> : null}
      </span>
    </div>
  );
}
