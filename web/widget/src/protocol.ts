// Frames of the visitor socket (docs/protocol.md). The types come from the server's Rust
// definition (src/wire.rs, generated into web/shared/protocol.generated.ts; type-only, so the
// bundle does not grow): a frame that changes there fails `tsc` here. Parsing checks just
// enough that the state code can trust the shapes it uses.
import type {
  ButtonClick,
  ServerFrame as AnyServerFrame,
  VisitorHello,
  VisitorIn,
  VisitorSessionView,
} from '../../shared/protocol.generated';

type FrameOf<T extends AnyServerFrame['type']> = Extract<AnyServerFrame, { type: T }>;

export type Sender = MessageFrame['sender'];

/** The visitor endpoint's `hello` (the agent's has other fields). */
export type HelloFrame = { type: 'hello' } & VisitorHello;
export type MessageFrame = FrameOf<'message'>;
export type AckFrame = FrameOf<'ack'>;
export type TypingFrame = FrameOf<'typing'>;
/** A visitor sees four fields of its session, none of the agent-side ones. */
export type SessionFrame = { type: 'session'; session: VisitorSessionView };
export type ErrorFrame = FrameOf<'error'>;
export type OkFrame = FrameOf<'ok'>;
export type PongFrame = FrameOf<'pong'>;

/** What the visitor endpoint sends. */
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

// Visitor → server. The server refuses unknown fields, so these carry exactly the documented ones
// (`satisfies` checks them against the server's `VisitorIn`).
export type { ButtonClick };
/** `button`: a click on a bot message's button (`text` is then its title). */
export const sendFrame = (client_id: string, text: string, button?: ButtonClick) =>
  (button ? { v: 1, type: 'send', client_id, text, button } : { v: 1, type: 'send', client_id, text }) satisfies VisitorIn;
export const typingFrame = (on: boolean) => ({ v: 1, type: 'typing', on }) satisfies VisitorIn;
export const resumeFrame = (after_seq: number, ref: string) => ({ v: 1, type: 'resume', after_seq, ref }) satisfies VisitorIn;
export const pingFrame = () => ({ v: 1, type: 'ping' }) satisfies VisitorIn;

// The visitor's frames are server frames (checked at compile time).
type Holds<T extends true> = T;
export type WireChecks = [Holds<ServerFrame extends AnyServerFrame ? true : false>];
