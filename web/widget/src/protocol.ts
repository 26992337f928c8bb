// Frames of the visitor socket (docs/protocol.md). Only the fields the widget reads are typed;
// parsing checks just enough that the state code can trust the shapes it uses.

export type Sender = 'visitor' | 'agent' | 'bot' | 'system';

export interface HelloFrame {
  type: 'hello';
  visitor_token: string;
  contact_id: number;
  session_id: number | null;
  last_seq: number;
}

export interface MessageFrame {
  type: 'message';
  session_id: number;
  seq: number;
  message_id?: number;
  sender: Sender;
  client_id?: string | null;
  text: string;
  created_at?: string;
}

export interface AckFrame {
  type: 'ack';
  client_id: string;
  session_id: number;
  seq: number;
  created_at?: string;
}

export interface TypingFrame {
  type: 'typing';
  session_id?: number;
  from: 'visitor' | 'agent';
  on: boolean;
}

export interface SessionFrame {
  type: 'session';
  session: { id: number; status: string };
}

export interface ErrorFrame {
  type: 'error';
  code: string;
  message?: string;
  ref?: unknown;
  client_id?: string;
}

export interface OkFrame {
  type: 'ok';
  ref?: unknown;
}

export interface PongFrame {
  type: 'pong';
}

export type ServerFrame =
  | HelloFrame
  | MessageFrame
  | AckFrame
  | TypingFrame
  | SessionFrame
  | ErrorFrame
  | OkFrame
  | PongFrame;

const isNum = (x: unknown): x is number => typeof x === 'number' && isFinite(x);
const isStr = (x: unknown): x is string => typeof x === 'string';

/** Parses one text frame; anything malformed or unknown is `null` (ignored, never thrown). */
export function parseFrame(text: string): ServerFrame | null {
  let f: any;
  try {
    f = JSON.parse(text);
  } catch {
    return null;
  }
  if (!f || typeof f !== 'object') return null;
  switch (f.type) {
    case 'hello':
      return isStr(f.visitor_token) && (f.session_id === null || isNum(f.session_id)) ? f : null;
    case 'message':
      return isNum(f.session_id) && isNum(f.seq) && isStr(f.text) && isStr(f.sender) ? f : null;
    case 'ack':
      return isStr(f.client_id) && isNum(f.session_id) && isNum(f.seq) ? f : null;
    case 'typing':
      return typeof f.on === 'boolean' ? f : null;
    case 'session':
      return f.session && isNum(f.session.id) ? f : null;
    case 'error':
      return isStr(f.code) ? f : null;
    case 'ok':
    case 'pong':
      return f;
    default:
      return null;
  }
}

// Visitor → server. The server refuses unknown fields, so these carry exactly the documented ones.
export const sendFrame = (client_id: string, text: string) => ({ v: 1, type: 'send', client_id, text });
export const typingFrame = (on: boolean) => ({ v: 1, type: 'typing', on });
export const resumeFrame = (after_seq: number, ref: string) => ({ v: 1, type: 'resume', after_seq, ref });
export const pingFrame = () => ({ v: 1, type: 'ping' });
