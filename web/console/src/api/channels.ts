// Channels over REST: the project's channels with their health, connecting and editing a
// Messenger Page, contact sync jobs, a session's reply window and retrying a platform send
// (src/http/channels.rs and friends). Secrets are write-only: the server answers `has_*`.
import type { Api } from './http';
import type { Message } from './types';

export type ChannelKind = 'web' | 'messenger';
export type ChannelHealth = 'connected' | 'needs_reconnect' | 'restricted';

/** The Messenger part of a ChannelView: never a secret, only whether each one is set. */
export interface MessengerInfo {
  page_id: string;
  page_name: string;
  app_id: string;
  human_agent: boolean;
  allowed_tags: string[];
  has_page_token: boolean;
  has_app_secret: boolean;
  has_verify_token: boolean;
  /** What to paste into Meta's app dashboard as the callback URL. */
  webhook_url: string;
}

/** GET /api/projects/{pid}/channels. */
export interface ChannelView {
  id: number;
  project_id: number;
  kind: ChannelKind;
  name: string;
  widget_key: string | null;
  created_at: string;
  health: ChannelHealth;
  health_detail: string | null;
  messenger: MessengerInfo | null;
}

/** POST …/channels/messenger. */
export interface NewMessengerChannel {
  page_id: string;
  page_name: string;
  page_access_token: string;
  app_id: string;
  app_secret: string;
  verify_token: string;
  human_agent: boolean;
  allowed_tags: string[];
}

/** PATCH …/channels/{cid}/messenger: any subset; a secret left out is unchanged. */
export type MessengerPatch = Partial<Omit<NewMessengerChannel, 'page_id'>>;

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export type SyncScope = 'recent' | 'all';

/** A contact sync job (GET/POST …/channels/{cid}/sync, the `job` frame). */
export interface JobView {
  id: number;
  channel_id: number;
  kind: 'contact_sync';
  state: JobState;
  scope: SyncScope;
  conversations_done: number;
  contacts_imported: number;
  messages_imported: number;
  errors: number;
  /** Conversations seen so far (the API gives no total up front). */
  total_so_far: number;
  last_error: string | null;
  cursor_saved: boolean;
  cancel_requested: boolean;
  created_at: string;
  updated_at: string;
}

export type ReplyWindowState = 'open' | 'human_agent' | 'tag_only' | 'closed';

/** GET …/sessions/{sid}/reply-window. */
export interface ReplyWindow {
  channel: ChannelKind;
  state: ReplyWindowState;
  last_inbound_at: string | null;
  /** End of the 24 h standard window. */
  window_closes_at: string | null;
  /** End of the 7-day Human Agent period (when the Page has the permission). */
  human_agent_until: string | null;
  allowed_tags: string[];
  /** Why a reply cannot be sent now (state `closed`). */
  refusal: string | null;
}

export class ChannelsApi {
  constructor(private readonly api: Pick<Api, 'request'>) {}

  channels(projectId: number): Promise<ChannelView[]> {
    return this.api.request<ChannelView[]>('GET', `/api/projects/${projectId}/channels`);
  }

  connectMessenger(projectId: number, body: NewMessengerChannel): Promise<ChannelView> {
    return this.api.request<ChannelView>('POST', `/api/projects/${projectId}/channels/messenger`, body);
  }

  updateMessenger(projectId: number, channelId: number, patch: MessengerPatch): Promise<ChannelView> {
    return this.api.request<ChannelView>('PATCH', `/api/projects/${projectId}/channels/${channelId}/messenger`, patch);
  }

  /** 202 with the job; `all` needs `confirm: true`. */
  startSync(projectId: number, channelId: number, scope: SyncScope, confirm: boolean): Promise<JobView> {
    return this.api.request<JobView>('POST', `/api/projects/${projectId}/channels/${channelId}/sync`, { scope, confirm });
  }

  /** The latest sync job of the channel; 404 when there never was one. */
  latestSync(projectId: number, channelId: number): Promise<JobView> {
    return this.api.request<JobView>('GET', `/api/projects/${projectId}/channels/${channelId}/sync`);
  }

  cancelJob(projectId: number, jobId: number): Promise<JobView> {
    return this.api.request<JobView>('POST', `/api/projects/${projectId}/jobs/${jobId}/cancel`);
  }

  replyWindow(projectId: number, sessionId: number): Promise<ReplyWindow> {
    return this.api.request<ReplyWindow>('GET', `/api/projects/${projectId}/sessions/${sessionId}/reply-window`);
  }

  /** Sends a failed or unconfirmed platform message again; the answer is the message. */
  retryMessage(projectId: number, sessionId: number, messageId: number): Promise<Message> {
    return this.api.request<Message>('POST', `/api/projects/${projectId}/sessions/${sessionId}/messages/${messageId}/retry`);
  }
}
