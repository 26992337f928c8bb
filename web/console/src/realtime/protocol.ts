// Agent websocket protocol v1 (docs/protocol.md): the frames the console reads and the
// commands it sends. Parsing is defensive: an unknown or malformed frame is ignored rather
// than crashing the console, since the server may add frame types later.
// The frame types come from the server's Rust definition (src/wire.rs, generated into
// web/shared/protocol.generated.ts): a frame that changes there fails `tsc` here.
import type { JobView } from '../api/channels';
import type { Contact, SessionTag } from '../api/contacts';
import type { Message, Session } from '../api/types';
import type {
  AgentHello,
  AgentIn,
  ContactView,
  MessageView,
  ServerFrame as AnyServerFrame,
  SessionView,
  TagView,
  JobView as GeneratedJobView,
} from '../../../shared/protocol.generated';
import { validFlowStats } from './flowStatsFrame';
import type { FlowStatsFrame, LocalOnlyFrames } from './flowStatsFrame';

export const PROTOCOL_VERSION = 1;

type FrameOf<T extends AnyServerFrame['type']> = Extract<AnyServerFrame, { type: T }>;

/** The agent endpoint's `hello` (the visitor's has other fields). */
export type HelloFrame = { type: 'hello' } & AgentHello;
/** Agents get the whole session view (visitors only four fields). */
export type SessionFrame = { type: 'session'; session: SessionView };
export type MessageFrame = FrameOf<'message'>;
export type TypingFrame = FrameOf<'typing'>;
export type AckFrame = FrameOf<'ack'>;
export type OkFrame = FrameOf<'ok'>;
/** `ref` is the refused frame's `ref`; for a refused `send` the server puts its client_id here. */
export type ErrorFrame = FrameOf<'error'>;
export type PongFrame = FrameOf<'pong'>;
/** A contact's customer info was edited (note name, phone, e-mail, labels). */
export type ContactFrame = FrameOf<'contact'>;
/** A session's tags were replaced: the whole new list. */
export type SessionTagsFrame = FrameOf<'session_tags'>;

/** A platform send moved on (sending, sent, delivered, read, failed): the message's new delivery. */
export type MessageStatusFrame = FrameOf<'message_status'>;
/** A background job (contact sync) moved on; sent to the project's members with `channels.manage`. */
export type JobFrame = { type: 'job'; job: JobView };
export type { FlowStatsFrame } from './flowStatsFrame';

/** What the agent endpoint sends. */
export type ServerFrame =
  | HelloFrame
  | SessionFrame
  | MessageFrame
  | TypingFrame
  | AckFrame
  | OkFrame
  | ErrorFrame
  | PongFrame
  | ContactFrame
  | SessionTagsFrame
  | MessageStatusFrame
  | JobFrame
  | FlowStatsFrame;

export type AgentCommand =
  /** `tag`: the message tag the agent picked for a Messenger reply past the 7-day window. */
  | { type: 'send'; session_id: number; client_id: string; text: string; tag?: string }
  | { type: 'typing'; session_id: number; on: boolean }
  | { type: 'take'; session_id: number; ref?: string }
  | { type: 'assign'; session_id: number; user_id: number | null; ref?: string }
  | { type: 'end'; session_id: number; ref?: string }
  | { type: 'resume'; session_id: number; after_seq: number; ref?: string }
  | { type: 'ping'; ref?: string };

// Compile-time checks: the console's own shapes are the server's. `Same` fails in both
// directions (a field added, dropped or retyped on either side).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
export type WireChecks = [
  Holds<Exclude<ServerFrame, LocalOnlyFrames> extends AnyServerFrame ? true : false>,
  Holds<Same<JobView, GeneratedJobView>>,
  Holds<AgentCommand extends AgentIn ? true : false>,
  Holds<Same<Session, SessionView>>,
  Holds<Same<Message, MessageView>>,
  Holds<Same<Contact, ContactView>>,
  Holds<Same<SessionTag, TagView>>,
];

const KNOWN_TYPES = new Set(['hello', 'session', 'message', 'typing', 'ack', 'ok', 'error', 'pong', 'contact', 'session_tags', 'message_status', 'job', 'flow_stats']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses one text frame; null for anything the console does not understand. */
export function parseServerFrame(data: string): ServerFrame | null {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(v) || typeof v.type !== 'string' || !KNOWN_TYPES.has(v.type)) return null;
  switch (v.type) {
    case 'session':
      if (!isObject(v.session) || typeof v.session.id !== 'number') return null;
      break;
    case 'message':
    case 'ack':
      if (typeof v.session_id !== 'number' || typeof v.seq !== 'number') return null;
      break;
    case 'typing':
      if (typeof v.session_id !== 'number' || typeof v.on !== 'boolean') return null;
      break;
    case 'contact':
      if (!isObject(v.contact) || typeof v.contact.id !== 'number' || !Array.isArray(v.contact.labels)) return null;
      break;
    case 'session_tags':
      if (typeof v.session_id !== 'number' || !Array.isArray(v.tags)) return null;
      break;
    case 'message_status':
      if (typeof v.session_id !== 'number' || typeof v.message_id !== 'number' || !isObject(v.delivery) || typeof v.delivery.state !== 'string') return null;
      break;
    case 'job':
      if (!isObject(v.job) || typeof v.job.id !== 'number' || typeof v.job.channel_id !== 'number') return null;
      break;
    case 'flow_stats':
      if (!validFlowStats(v)) return null;
      break;
  }
  return v as unknown as ServerFrame;
}

export function encodeCommand(cmd: AgentCommand): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, ...cmd });
}

/** The client_id a refused `send` is identified by (the server reports it as `ref`). */
export function errorClientId(e: ErrorFrame): string | null {
  return typeof e.ref === 'string' ? e.ref : null;
}
