// Generated from src/wire.rs by ts-rs: do not edit. The frames of docs/protocol.md.
// Regenerate: SWITCHBOARD_WRITE_TS=1 cargo test --lib wire::

export type WireFrame = { v: 1 } & ServerFrame;

export type ServerFrame = { "type": "hello" } & Hello | { "type": "session", session: SessionPayload, } | { "type": "message" } & MessageView | { "type": "message_status", session_id: number, message_id: number, delivery: DeliveryView, } | { "type": "job", job: JobView, } | { "type": "flow_stats", flow_id: number, } | { "type": "contact", contact: ContactView, } | { "type": "session_tags", session_id: number, tags: Array<TagView>, } | { "type": "ack", client_id: string | null, session_id: number, seq: number, message_id: number, created_at: string, } | { "type": "ok", ref: JsonValue | null, } | { "type": "pong", ref: JsonValue | null, } | { "type": "typing", session_id: number, from: "visitor" | "agent", user_id: number | null, on: boolean, } | { "type": "error", code: string, message: string, ref?: JsonValue | null, 
/**
 * Structured detail of the refusal (`busy`: `retry_after_ms`); left out when none.
 */
details?: JsonValue | null, };

export type Hello = AgentHello | VisitorHello;

export type AgentHello = { user_id: number, project_id: number, data_scope: "own" | "all", };

export type VisitorHello = { visitor_token: string, 
/**
 * Null for a visitor who has not written yet: the contact is made with the first message.
 */
contact_id: number | null, 
/**
 * The open session, null when there is none yet.
 */
session_id: number | null, 
/**
 * Newest seq in that session, 0 when none.
 */
last_seq: number, };

export type SessionPayload = SessionView | VisitorSessionView;

export type SessionView = { id: number, project_id: number, channel_id: number, contact_id: number, contact_name: string, note_name: string | null, 
/**
 * `unassigned`, `assigned` or `ended`.
 */
status: "unassigned" | "assigned" | "ended", bot_hosted: boolean, assignee_id: number | null, created_at: string, 
/**
 * Reception time: when an agent first took or was given the session.
 */
received_at: string | null, 
/**
 * Since when the visitor has been waiting for a human reply, if they are.
 */
awaiting_since: string | null, first_response_at: string | null, 
/**
 * Seconds from the first wait for a human to the first human reply.
 */
first_response_secs: number | null, ended_at: string | null, last_seq: number, last_message_at: string, message_count: number, visitor_message_count: number, agent_message_count: number, };

export type VisitorSessionView = { id: number, status: "unassigned" | "assigned" | "ended", created_at: string, ended_at: string | null, };

export type MessageView = { session_id: number, seq: number, message_id: number, 
/**
 * `visitor`, `agent`, `bot` or `system`.
 */
sender: "visitor" | "agent" | "bot" | "system", sender_user_id: number | null, client_id: string | null, text: string, 
/**
 * Sent outside Switchboard (a reply from the Page inbox or the Messenger app).
 */
off_platform: boolean, created_at: string, 
/**
 * What is not text: `attachments` (`[{type, url}]`, shown as links), `postback`
 * (`{title, payload}`), `quick_reply` (`{payload}`); `{}` for plain text.
 */
content: Record<string, unknown>, 
/**
 * How a message to a channel's platform is getting on; null for the web widget and for
 * messages that were not sent through a platform.
 */
delivery: DeliveryView | null, };

export type DeliveryView = { 
/**
 * `pending`, `sending`, `sent`, `failed` or `unconfirmed`.
 */
state: "pending" | "sending" | "sent" | "failed" | "unconfirmed", 
/**
 * `RESPONSE` or `MESSAGE_TAG` (with `tag`).
 */
messaging_type: string, tag: string | null, 
/**
 * The platform's error code and our reading of it, when it failed.
 */
error_code: number | null, error_subcode: number | null, error: string | null, attempts: number, sent_at: string | null, delivered_at: string | null, read_at: string | null, };

export type JobView = { id: number, 
/**
 * The channel synced (every contact sync has one).
 */
channel_id: number, kind: "contact_sync", state: "queued" | "running" | "done" | "failed" | "cancelled", scope: "recent" | "all", conversations_done: number, contacts_imported: number, messages_imported: number, 
/**
 * Conversations that could not be imported.
 */
errors: number, 
/**
 * Conversations listed so far (the platform gives no total).
 */
total_so_far: number, last_error: string | null, cursor_saved: boolean, 
/**
 * Asked to stop; it stops before its next page.
 */
cancel_requested: boolean, created_at: string, updated_at: string, };

export type ContactView = { id: number, project_id: number, channel_id: number, external_id: string, 
/**
 * The visitor's own name.
 */
name: string, note_name: string | null, 
/**
 * E.164, normalised by the server.
 */
phone: string | null, email: string | null, labels: Array<string>, created_at: string, updated_at: string, };

export type TagView = { id: number, name: string, 
/**
 * `#rrggbb`.
 */
color: string, };

export type ButtonClick = { message_id: number, id: string, };

export type VisitorIn = { "type": "send", v?: number | null, client_id: string, 
/**
 * The button's title when `button` is set.
 */
text: string, 
/**
 * A click on a button of a bot message (an automation flow's choice).
 */
button?: ButtonClick | null, } | { "type": "typing", v?: number | null, on: boolean, } | { "type": "resume", v?: number | null, after_seq: number, ref?: JsonValue | null, } | { "type": "ping", v?: number | null, ref?: JsonValue | null, };

export type AgentIn = { "type": "send", v?: number | null, session_id: number, client_id: string, text: string, 
/**
 * A Messenger message tag from the Page's allowed list, for a reply past the windows.
 */
tag?: string | null, } | { "type": "typing", v?: number | null, session_id: number, on: boolean, } | { "type": "take", v?: number | null, session_id: number, ref?: JsonValue | null, } | { "type": "assign", v?: number | null, session_id: number, user_id?: number | null, ref?: JsonValue | null, } | { "type": "end", v?: number | null, session_id: number, ref?: JsonValue | null, } | { "type": "resume", v?: number | null, session_id: number, after_seq: number, ref?: JsonValue | null, } | { "type": "ping", v?: number | null, ref?: JsonValue | null, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;
