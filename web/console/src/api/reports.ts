// Session management (reports) over REST: session records, their live summary and the CSV
// export, all under one filter (docs/session-management.md). Uses the shared `Api.request`.
import type { Api } from './http';

export type RecordStatus = 'unassigned' | 'assigned' | 'ended';
/** `ongoing` = not ended (unassigned or assigned). */
export type ReportStatusFilter = 'ongoing' | 'ended' | 'unassigned' | 'assigned';

export interface RecordContact {
  id: number;
  name: string;
  note_name: string | null;
  phone: string | null;
  email: string | null;
}

export interface RecordChannel {
  id: number;
  name: string;
  /** `web` or `messenger`. */
  kind: string;
}

/** One row of GET /api/projects/{pid}/reports/sessions. */
export interface SessionRecord {
  id: number;
  contact: RecordContact;
  channel: RecordChannel;
  status: RecordStatus;
  /** The current assignee; null while in the queue. */
  receptionist: { id: number; display_name: string } | null;
  created_at: string;
  /** Reception time: when an agent first took or was given the session. */
  received_at: string | null;
  ended_at: string | null;
  messages: { total: number; visitor: number; agent: number };
  /** Seconds (millisecond precision); null without a human reply. */
  first_response_secs: number | null;
}

export interface RecordPage {
  items: SessionRecord[];
  next_cursor: string | null;
}

export interface ReportSummary {
  ongoing: number;
  ended: number;
  total: number;
}

/** The filter as the API takes it; absent fields do not filter. */
export interface ReportFilter {
  /** RFC 3339, inclusive. */
  received_from?: string;
  /** RFC 3339, exclusive. */
  received_to?: string;
  /** A user id or `me`. */
  receptionist?: number | 'me';
  status?: ReportStatusFilter;
  channel?: number;
  tag?: number;
}

/** GET /api/projects/{pid}/channels (the fields the filter uses). */
export interface ChannelInfo {
  id: number;
  kind: string;
  name: string;
}

const FILTER_KEYS = ['received_from', 'received_to', 'receptionist', 'status', 'channel', 'tag'] as const;

/** The query string of a filter (plus paging), in a stable order; empty values are left out. */
export function reportQuery(f: ReportFilter, page: { cursor?: string | null; limit?: number } = {}): string {
  const params = new URLSearchParams();
  for (const k of FILTER_KEYS) {
    const v = f[k];
    if (v !== undefined && v !== '') params.set(k, String(v));
  }
  if (page.cursor) params.set('cursor', page.cursor);
  if (page.limit !== undefined) params.set('limit', String(page.limit));
  return params.toString();
}

function withQuery(path: string, query: string): string {
  return query ? `${path}?${query}` : path;
}

export class ReportsApi {
  constructor(private readonly api: Pick<Api, 'request'>) {}

  /** Newest reception first; sessions never received last. */
  records(projectId: number, f: ReportFilter, page: { cursor?: string | null; limit?: number } = {}): Promise<RecordPage> {
    return this.api.request<RecordPage>('GET', withQuery(`/api/projects/${projectId}/reports/sessions`, reportQuery(f, page)));
  }

  summary(projectId: number, f: ReportFilter): Promise<ReportSummary> {
    return this.api.request<ReportSummary>('GET', withQuery(`/api/projects/${projectId}/reports/sessions/summary`, reportQuery(f)));
  }

  channels(projectId: number): Promise<ChannelInfo[]> {
    return this.api.request<ChannelInfo[]>('GET', `/api/projects/${projectId}/channels`);
  }
}

/** The CSV download (a plain link: the browser sends the cookie and saves the attachment). */
export function csvUrl(projectId: number, f: ReportFilter): string {
  return withQuery(`/api/projects/${projectId}/reports/sessions.csv`, reportQuery(f));
}
