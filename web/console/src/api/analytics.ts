// Automation analytics over REST (docs/automation.md; `automation.view` or `automation.manage`):
// the flow list with its figures over a range, one flow's triggered visitors (paged, and as
// CSV), and one version's per-step funnel.
import type { Api } from './http';
import type { TriggerKind } from './automation';
import type { FlowDocument } from '../automation/document';

/** A range as the API takes it: `YYYY-MM-DD` or RFC 3339, [from, to). Absent: the last 30 days. */
export interface StatsRange {
  from?: string;
  to?: string;
}

export interface FlowStats {
  flow_id: number;
  name: string;
  enabled: boolean;
  trigger_kind: TriggerKind;
  published_version: number | null;
  trigger_times: number;
  triggered_visitors: number;
  participants: number;
  completed_visitors: number;
  /** participants / triggered_visitors, 0..1; null without triggered visitors. */
  participation: number | null;
  /** completed_visitors / triggered_visitors, 0..1; null without triggered visitors. */
  completion_rate: number | null;
}

export interface StatsPage {
  from: string;
  to: string;
  flows: FlowStats[];
}

export type VisitorStatus = 'completed' | 'participated' | 'not_participated';

export interface FlowVisitor {
  contact_id: number;
  name: string;
  note_name: string | null;
  avatar_url: string | null;
  channel_id: number;
  channel_kind: string;
  channel_name: string;
  status: VisitorStatus;
  triggers: number;
  first_triggered_at: string;
  last_triggered_at: string;
  last_session_id: number | null;
}

export interface VisitorPage {
  items: FlowVisitor[];
  next: string | null;
  total: number;
}

export interface VisitorFilter extends StatsRange {
  status?: VisitorStatus;
  channel_id?: number;
}

export interface FunnelStep {
  step_id: string;
  step_type: string;
  reached: number;
  waiting: number;
  stopped: number;
}

export interface FunnelEdge {
  from: string;
  port: string;
  to: string;
  taken: number;
}

export interface Funnel {
  version: number;
  runs: number;
  completed: number;
  steps: FunnelStep[];
  edges: FunnelEdge[];
}

export interface VersionDocument {
  version: number;
  document: FlowDocument;
}

const VISITOR_KEYS = ['from', 'to', 'status', 'channel_id'] as const;

/** The query string of a visitor filter (plus paging), stable order, empty values left out. */
export function visitorQuery(f: VisitorFilter, page: { after?: string | null; limit?: number } = {}): string {
  const p = new URLSearchParams();
  for (const k of VISITOR_KEYS) {
    const v = f[k];
    if (v !== undefined && v !== '') p.set(k, String(v));
  }
  if (page.after) p.set('after', page.after);
  if (page.limit !== undefined) p.set('limit', String(page.limit));
  return p.toString();
}

function withQuery(path: string, q: string): string {
  return q ? `${path}?${q}` : path;
}

export class AnalyticsApi {
  constructor(private readonly api: Pick<Api, 'request'>) {}

  stats(projectId: number, range: StatsRange): Promise<StatsPage> {
    return this.api.request<StatsPage>('GET', withQuery(`/api/projects/${projectId}/automation/stats`, visitorQuery(range)));
  }

  visitors(projectId: number, flowId: number, f: VisitorFilter, page: { after?: string | null; limit?: number } = {}): Promise<VisitorPage> {
    return this.api.request<VisitorPage>('GET', withQuery(`/api/projects/${projectId}/flows/${flowId}/visitors`, visitorQuery(f, page)));
  }

  funnel(projectId: number, flowId: number, version: number): Promise<Funnel> {
    return this.api.request<Funnel>('GET', `/api/projects/${projectId}/flows/${flowId}/versions/${version}/funnel`);
  }

  /** The version's graph (GET …/versions/{n}); the funnel draws on it. */
  version(projectId: number, flowId: number, version: number): Promise<VersionDocument> {
    return this.api.request<VersionDocument>('GET', `/api/projects/${projectId}/flows/${flowId}/versions/${version}`);
  }
}

/** The CSV download of a flow's visitors (a plain link: the browser sends the cookie). */
export function visitorsCsvUrl(projectId: number, flowId: number, f: VisitorFilter): string {
  return withQuery(`/api/projects/${projectId}/flows/${flowId}/visitors.csv`, visitorQuery(f));
}
