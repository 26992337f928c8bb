// Automation flows over REST (permission `automation.manage`): the flow list, one flow's draft
// and versions, save / publish / enable, and a test run's preview visitor.
import type { Api } from './http';
import type { FlowDocument } from '../automation/document';

export type TriggerKind = 'first_message' | 'keyword' | 'new_session' | 'visitor_silent';

export interface FlowSummary {
  id: number;
  name: string;
  enabled: boolean;
  trigger_kind: TriggerKind;
  published_version: number | null;
  has_unpublished_changes: boolean;
  updated_at: string;
  updated_by_name: string | null;
  created_at: string;
}

/** A problem of a draft; `step` names the step it is about, null for the flow as a whole. */
export interface Problem {
  step: string | null;
  code: string;
  message: string;
}

export interface FlowVersionInfo {
  version: number;
  published_at: string;
  published_by_name: string | null;
}

export interface FlowDetail extends FlowSummary {
  draft: FlowDocument;
  problems: Problem[];
  versions: FlowVersionInfo[];
}

/** Answer of POST …/preview: a test-run visitor who chats with the draft. */
export interface FlowPreview {
  widget_key: string;
  visitor_token: string;
  contact_id: number;
  flow_version_id: number;
}

export class AutomationApi {
  constructor(private readonly api: Pick<Api, 'request'>) {}

  flows(projectId: number): Promise<FlowSummary[]> {
    return this.api.request<FlowSummary[]>('GET', `/api/projects/${projectId}/flows`);
  }

  createFlow(projectId: number, name: string, draft?: FlowDocument): Promise<FlowDetail> {
    return this.api.request<FlowDetail>('POST', `/api/projects/${projectId}/flows`, draft ? { name, draft } : { name });
  }

  flow(projectId: number, flowId: number): Promise<FlowDetail> {
    return this.api.request<FlowDetail>('GET', `/api/projects/${projectId}/flows/${flowId}`);
  }

  /** A draft with problems is saved and its problems come back; one that does not parse is a 400. */
  saveFlow(projectId: number, flowId: number, body: { name?: string; draft?: FlowDocument }): Promise<FlowDetail> {
    return this.api.request<FlowDetail>('PUT', `/api/projects/${projectId}/flows/${flowId}`, body);
  }

  /** 400 `invalid_flow` with `details.problems` when the draft does not validate. */
  publish(projectId: number, flowId: number): Promise<FlowDetail> {
    return this.api.request<FlowDetail>('POST', `/api/projects/${projectId}/flows/${flowId}/publish`);
  }

  /** 409 `conflict` when enabling a flow never published. */
  setEnabled(projectId: number, flowId: number, enabled: boolean): Promise<FlowDetail> {
    return this.api.request<FlowDetail>('PATCH', `/api/projects/${projectId}/flows/${flowId}`, { enabled });
  }

  deleteFlow(projectId: number, flowId: number): Promise<void> {
    return this.api.request<void>('DELETE', `/api/projects/${projectId}/flows/${flowId}`);
  }

  preview(projectId: number, flowId: number): Promise<FlowPreview> {
    return this.api.request<FlowPreview>('POST', `/api/projects/${projectId}/flows/${flowId}/preview`);
  }
}
