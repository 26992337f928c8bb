// Agent websocket protocol v1 (docs/protocol.md): the frames the console reads and the
// commands it sends. Parsing is defensive: an unknown or malformed frame is ignored rather
// than crashing the console, since the server may add frame types later.
import type { Contact, SessionTag } from '../api/contacts';
import type { DataScope, Message, Session } from '../api/types';

export const PROTOCOL_VERSION = 1;

export interface HelloFrame {
  type: 'hello';
  user_id: number;
  project_id: number;
  data_scope: DataScope;
}
export interface SessionFrame {
  type: 'session';
  session: Session;
}
export interface MessageFrame extends Message {
  type: 'message';
}
export interface TypingFrame {
  type: 'typing';
  session_id: number;
  from: 'visitor' | 'agent';
  user_id: number | null;
  on: boolean;
}
export interface AckFrame {
  type: 'ack';
  client_id: string;
  session_id: number;
  seq: number;
  message_id: number;
  created_at: string;
}
export interface OkFrame {
  type: 'ok';
  ref: string | number | null;
}
export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  /** The refused frame's `ref`; for a refused `send` the server puts its client_id here. */
  ref?: string | number | null;
  client_id?: string;
}
export interface PongFrame {
  type: 'pong';
  ref?: string | number | null;
}

/** A contact's customer info was edited (note name, phone, e-mail, labels). */
export interface ContactFrame {
  type: 'contact';
  contact: Contact;
}
/** A session's tags were replaced: the whole new list. */
export interface SessionTagsFrame {
  type: 'session_tags';
  session_id: number;
  tags: SessionTag[];
}

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
  | SessionTagsFrame;

export type AgentCommand =
  | { type: 'send'; session_id: number; client_id: string; text: string }
  | { type: 'typing'; session_id: number; on: boolean }
  | { type: 'take'; session_id: number; ref?: string }
  | { type: 'assign'; session_id: number; user_id: number | null; ref?: string }
  | { type: 'end'; session_id: number; ref?: string }
  | { type: 'resume'; session_id: number; after_seq: number; ref?: string }
  | { type: 'ping'; ref?: string };

const KNOWN_TYPES = new Set(['hello', 'session', 'message', 'typing', 'ack', 'ok', 'error', 'pong', 'contact', 'session_tags']);

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
  }
  return v as unknown as ServerFrame;
}

export function encodeCommand(cmd: AgentCommand): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, ...cmd });
}

/** The client_id a refused `send` is identified by (the server reports it as `ref`). */
export function errorClientId(e: ErrorFrame): string | null {
  if (typeof e.client_id === 'string') return e.client_id;
  if (typeof e.ref === 'string') return e.ref;
  return null;
}
