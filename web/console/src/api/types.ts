// JSON shapes of the Switchboard REST API (see GET /api/openapi.json). Only the fields the
// console reads are listed; the server may send more.

export type SessionStatus = 'unassigned' | 'assigned' | 'ended';
export type Sender = 'visitor' | 'agent' | 'bot' | 'system';
export type DataScope = 'own' | 'all';

export interface User {
  id: number;
  email: string;
  display_name: string;
}

export interface Project {
  id: number;
  name: string;
}

export interface Role {
  name: string;
  permissions: string[];
  data_scope: DataScope;
}

export interface ProjectMembership {
  project: Project;
  role: Role;
}

/** Answer of POST /api/auth/login and GET /api/me. */
export interface Me {
  user: User;
  projects: ProjectMembership[];
}

export interface Session {
  id: number;
  project_id: number;
  channel_id: number;
  contact_id: number;
  contact_name: string;
  note_name: string | null;
  status: SessionStatus;
  bot_hosted: boolean;
  assignee_id: number | null;
  created_at: string;
  received_at: string | null;
  awaiting_since: string | null;
  first_response_at: string | null;
  first_response_secs: number | null;
  ended_at: string | null;
  last_seq: number;
  last_message_at: string;
  message_count: number;
  visitor_message_count: number;
  agent_message_count: number;
}

export interface SessionPage {
  items: Session[];
  next_cursor: string | null;
}

export interface Message {
  session_id: number;
  seq: number;
  message_id: number;
  sender: Sender;
  sender_user_id: number | null;
  client_id: string | null;
  text: string;
  off_platform: boolean;
  created_at: string;
  content: Record<string, unknown>;
  delivery: Delivery | null;
}

export type DeliveryState = 'pending' | 'sending' | 'sent' | 'failed' | 'unconfirmed';

export interface Delivery {
  state: DeliveryState;
  messaging_type: string;
  tag: string | null;
  error_code: number | null;
  error_subcode: number | null;
  error: string | null;
  attempts: number;
  sent_at: string | null;
  delivered_at: string | null;
  read_at: string | null;
}

export interface MessagePage {
  items: Message[];
}

export interface Member {
  user_id: number;
  email: string;
  display_name: string;
  role_id: number;
  role_name: string;
  joined_at: string;
}

/** GET/PATCH /api/projects/{pid}/settings/notifications: e-mail alerts for waiting visitors. */
export interface NotificationSettings {
  email_enabled: boolean;
  /** 1 to 604800; the console shows minutes. */
  wait_secs: number;
  include_bot_hosted: boolean;
  /** Read only: the server has SMTP settings. */
  email_configured: boolean;
}

/** A PATCH names only the fields it changes. */
export interface NotificationPatch {
  email_enabled?: boolean;
  wait_secs?: number;
  include_bot_hosted?: boolean;
}

export type OutboxState = 'pending' | 'sent' | 'failed';

/** One e-mail of the project's outbox. */
export interface OutboxRow {
  id: number;
  /** `no_reply_alert` or `test`. */
  kind: string;
  session_id: number | null;
  recipient_user_id: number | null;
  to: string;
  subject: string;
  state: OutboxState;
  attempts: number;
  last_error: string | null;
  next_attempt_at: string | null;
  sent_at: string | null;
  created_at: string;
}

export interface OutboxPage {
  items: OutboxRow[];
}
