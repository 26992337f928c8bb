// The Automation page: the list of flows at /automation, one flow's editor at /automation/<id>
// (both `automation.manage`), and the Data view at /automation/data — the flows' figures, a
// flow's visitors, a version's funnel (`automation.view` or `automation.manage`). The URL says
// which; the back button works between them.
import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { FormEvent } from 'react';
import type { Api } from '../api/http';
import type { ProjectMembership } from '../api/types';
import { AnalyticsApi } from '../api/analytics';
import { AutomationApi } from '../api/automation';
import type { FlowSummary } from '../api/automation';
import { ChannelsApi } from '../api/channels';
import { ContactsApi } from '../api/contacts';
import { StatsController } from '../analytics/statsController';
import { FlowListController } from '../automation/flowEditorController';
import { TRIGGER_LABELS } from '../automation/document';
import { pathForRoute, routeFromPath } from '../lib/route';
import type { DataRoute } from '../lib/route';
import { fullTime } from '../lib/time';
import { FlowDataList, FlowFunnel, FlowVisitors } from './FlowData';
import type { SubscribeFrames } from './FlowData';
import { FlowEditor, type Lookups } from './FlowEditor';
import { Switch } from './SettingsControls';

interface Props {
  api: Api;
  membership: ProjectMembership;
  onUnauthenticated: () => void;
  /** Opens a chat in the inbox (a visitor of the drill-down). */
  onOpenChat?: (sessionId: number) => void;
  /** The agent socket's frames (live figures). */
  subscribeFrames?: SubscribeFrames;
}

/** Who may see the Data view. */
export function canViewAutomationData(permissions: readonly string[]): boolean {
  return permissions.includes('automation.view') || permissions.includes('automation.manage');
}

type Where = { flowId: number | null; data: DataRoute | null };

function whereFromUrl(): Where {
  const r = routeFromPath(window.location.pathname);
  return r.kind === 'automation' ? { flowId: r.flowId, data: r.data ?? null } : { flowId: null, data: null };
}

export function AutomationPage({ api, membership, onUnauthenticated, onOpenChat, subscribeFrames }: Props) {
  const flowsApi = useMemo(() => new AutomationApi(api), [api]);
  const analyticsApi = useMemo(() => new AnalyticsApi(api), [api]);
  const projectId = membership.project.id;
  const permissions = membership.role.permissions;
  const canManage = permissions.includes('automation.manage');
  const canView = canViewAutomationData(permissions);
  const lookups = useMemo<Lookups>(
    () => ({
      channels: () => new ChannelsApi(api).channels(projectId),
      members: () => api.members(projectId),
      tags: () => new ContactsApi(api).sessionTagList(projectId),
    }),
    [api, projectId],
  );
  // The Data view's range and sort stay while the member moves between its pages.
  const [stats] = useState(() => new StatsController({ api: analyticsApi, projectId, onUnauthenticated }));
  const [where, setWhere] = useState<Where>(whereFromUrl);
  useEffect(() => {
    const pop = () => setWhere(whereFromUrl());
    window.addEventListener('popstate', pop);
    return () => window.removeEventListener('popstate', pop);
  }, []);
  const go = useCallback((to: Where) => {
    window.history.pushState(null, '', pathForRoute({ kind: 'automation', flowId: to.flowId, ...(to.data ? { data: to.data } : {}) }));
    setWhere(to);
  }, []);
  const open = useCallback((id: number | null) => go({ flowId: id, data: null }), [go]);
  const openData = useCallback((data: DataRoute) => go({ flowId: null, data }), [go]);
  const openChat = useCallback(
    (sessionId: number) => {
      if (onOpenChat) onOpenChat(sessionId);
      else window.location.assign(`/chats/${sessionId}`);
    },
    [onOpenChat],
  );

  if (!canView) {
    return (
      <div className="automation-page" data-testid="automation-page">
        <div className="notice">Only members who can manage automation or view its data may open this page.</div>
      </div>
    );
  }
  // Without `automation.manage` the flows themselves stay closed: the Data view is the page.
  const data = where.data ?? (canManage ? null : ({ page: 'list' } as DataRoute));
  if (data === null && where.flowId !== null) {
    return <FlowEditor key={where.flowId} api={flowsApi} lookups={lookups} projectId={projectId} flowId={where.flowId} onBack={() => open(null)} onUnauthenticated={onUnauthenticated} />;
  }
  const common = { api: analyticsApi, projectId, stats, subscribeFrames, onNavigate: openData, onUnauthenticated };
  return (
    <div className="automation-page" data-testid="automation-page">
      <AutomationHead canManage={canManage} data={data !== null} onTab={(t) => (t === 'data' ? openData({ page: 'list' }) : open(null))} />
      {data === null ? (
        <FlowList api={flowsApi} projectId={projectId} onOpen={open} onUnauthenticated={onUnauthenticated} />
      ) : data.page === 'list' ? (
        <FlowDataList {...common} />
      ) : data.page === 'visitors' ? (
        <FlowVisitors key={data.flowId} {...common} flowId={data.flowId} channels={lookups.channels} onOpenChat={openChat} />
      ) : (
        <FlowFunnel key={data.flowId} {...common} flowId={data.flowId} />
      )}
    </div>
  );
}

function AutomationHead({ canManage, data, onTab }: { canManage: boolean; data: boolean; onTab: (t: 'flows' | 'data') => void }) {
  return (
    <div className="automation-tabs-head">
      <div>
        <h1 className="settings-title">Automation</h1>
        <p className="settings-lead">
          {data
            ? 'How the flows do: how often they start, how many visitors take part and finish, and where runs stop. The figures update live.'
            : 'Flows answer visitors on their own: a trigger, then steps — messages with buttons, questions, conditions, waits, hand-offs.'}
        </p>
      </div>
      <div className="sm-tabs" role="tablist" aria-label="Automation">
        {canManage && (
          <button type="button" role="tab" aria-selected={!data} className={`sm-tab${!data ? ' sm-tab-active' : ''}`} data-testid="automation-tab-flows" onClick={() => onTab('flows')}>
            Flows
          </button>
        )}
        <button type="button" role="tab" aria-selected={data} className={`sm-tab${data ? ' sm-tab-active' : ''}`} data-testid="automation-tab-data" onClick={() => onTab('data')}>
          Data
        </button>
      </div>
    </div>
  );
}

function FlowList({ api, projectId, onOpen, onUnauthenticated }: { api: AutomationApi; projectId: number; onOpen: (id: number) => void; onUnauthenticated: () => void }) {
  const [controller] = useState(() => new FlowListController({ api, projectId, onUnauthenticated }));
  useEffect(() => {
    void controller.start();
    return () => controller.stop();
  }, [controller]);
  const state = useSyncExternalStore(controller.subscribe, controller.getState);
  const [naming, setNaming] = useState(false);
  const [name, setName] = useState('');
  const create = async (e: FormEvent) => {
    e.preventDefault();
    const id = await controller.create(name);
    if (id !== null) onOpen(id);
  };

  return (
    <div className="flow-list-view">
      <div className="automation-head automation-head-actions">
        {!naming && (
          <button type="button" className="btn btn-primary" data-testid="flow-new" onClick={() => setNaming(true)}>
            New flow
          </button>
        )}
      </div>
      {naming && (
        <form className="flow-new-form settings-card settings-card-pad" onSubmit={create}>
          <label className="team-field">
            <span>Name of the new flow</span>
            <input type="text" data-testid="flow-new-name" autoFocus value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />
          </label>
          <button type="submit" className="btn btn-primary" data-testid="flow-new-create" disabled={!name.trim() || state.creating}>
            {state.creating ? 'Creating…' : 'Create'}
          </button>
          <button type="button" className="btn btn-ghost" onClick={() => setNaming(false)}>
            Cancel
          </button>
        </form>
      )}
      {state.error && (
        <div className="notice notice-danger" role="alert" data-testid="flow-list-error">
          {state.error}
        </div>
      )}
      {state.load.kind === 'loading' && state.flows.length === 0 && <p className="muted" aria-busy="true">Loading…</p>}
      {state.load.kind === 'error' && (
        <div className="notice notice-danger" role="alert">
          <span>{state.load.message}</span>{' '}
          <button type="button" className="link" onClick={() => void controller.load()}>
            Try again
          </button>
        </div>
      )}
      {state.load.kind === 'ready' && state.flows.length === 0 && <p className="muted" data-testid="flow-list-empty">No flows yet. A new flow starts with a message and an End step.</p>}
      {state.flows.length > 0 && (
        <table className="flow-table" data-testid="flow-list">
          <thead>
            <tr>
              <th>Name</th>
              <th>Trigger</th>
              <th>Enabled</th>
              <th>Version</th>
              <th>Last edited</th>
            </tr>
          </thead>
          <tbody>
            {state.flows.map((f) => (
              <FlowRow key={f.id} flow={f} onOpen={onOpen} onEnabled={(v) => void controller.setEnabled(f.id, v)} />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function FlowRow({ flow, onOpen, onEnabled }: { flow: FlowSummary; onOpen: (id: number) => void; onEnabled: (v: boolean) => void }) {
  return (
    <tr data-testid="flow-row" data-flow-id={flow.id}>
      <td>
        <a
          href={pathForRoute({ kind: 'automation', flowId: flow.id })}
          className="flow-row-name"
          data-testid="flow-row-open"
          onClick={(e) => {
            if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
            e.preventDefault();
            onOpen(flow.id);
          }}
        >
          {flow.name}
        </a>
      </td>
      <td>{TRIGGER_LABELS[flow.trigger_kind] ?? flow.trigger_kind}</td>
      <td>
        <label className="flow-row-switch">
          <span className="visually-hidden">Enabled</span>
          <Switch id={`flow-enabled-${flow.id}`} testId="flow-row-enabled" checked={flow.enabled} disabled={flow.published_version === null && !flow.enabled} onChange={onEnabled} />
        </label>
      </td>
      <td data-testid="flow-row-version">
        {flow.published_version === null ? <span className="muted">Not published</span> : `v${flow.published_version}`}
        {flow.has_unpublished_changes && flow.published_version !== null && <span className="flow-unpublished"> · unpublished changes</span>}
      </td>
      <td className="muted">
        {flow.updated_by_name ? `${flow.updated_by_name}, ` : ''}
        <time dateTime={flow.updated_at} title={fullTime(flow.updated_at)}>
          {fullTime(flow.updated_at)}
        </time>
      </td>
    </tr>
  );
}
