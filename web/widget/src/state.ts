// The conversation as the widget knows it: pure logic, no DOM, no socket, no timers, no storage,
// so that every rule of the protocol (dedupe by seq, resume point, outbox, session switch,
// unread count) is unit-tested on its own.
import type { ServerFrame, Sender, MessageFrame, AckFrame, ErrorFrame, ButtonClick } from './protocol';

export interface ChatMessage {
  /** Stable identity for rendering: the client id for the visitor's own messages (so the
   *  pending bubble and its committed version are one node), else session and seq. */
  key: string;
  sessionId: number | null;
  seq: number | null;
  sender: Sender;
  text: string;
  clientId?: string;
  at?: string;
  pending: boolean;
  /** Refused by the server for good (e.g. too long): not retried. */
  failed?: boolean;
  /** The server's id (what a button click names). */
  messageId?: number;
  /** What is not text: a bot message's `buttons` or `ask`, a visitor's `button` click. */
  content?: Record<string, unknown>;
}

export interface Outgoing {
  id: string;
  text: string;
  button?: ButtonClick;
}

export interface ChatButton {
  id: string;
  title: string;
}

/** What the connection should do after a frame. */
export interface Effect {
  /** Ask for every message after this seq of the open session. */
  resume?: number;
  /** A send failed for a transient reason: send the outbox again a little later. */
  retryLater?: boolean;
  /** With `retryLater`: the server's hint (`busy`), how long to wait before sending again. */
  retryAfterMs?: number;
  /** The server could not read history: reconnect (with backoff) and resume again. */
  reconnect?: boolean;
}

export interface Seen {
  s: number | null;
  q: number;
}

/** Not stored; the same client id goes out again (protocol.md, error codes). */
const TRANSIENT = ['db_unavailable', 'rate_limited', 'busy', 'internal'];
export const RESUME_REF = 'resume';

export class Chat {
  token: string | null;
  /** The session this visitor writes into (the newest one it heard of). */
  sessionId: number | null = null;
  ended = false;
  /** Highest seq of the current session shown with every lower seq shown too. This, not the
   *  highest seq, is what `resume` asks after: an ack can arrive before an agent message with
   *  a lower seq, and resuming after the ack's seq would lose that message. */
  contig = 0;
  messages: ChatMessage[] = [];
  outbox: Outgoing[];
  open = false;
  agentTyping = false;
  /** Newest seq the visitor has had on screen (panel open), persisted so reloads keep the badge honest. */
  seen: Seen;
  private seqs = new Set<number>();
  /** Client ids sent on the current connection: each un-acked message goes out once per connection. */
  private sentOn = new Set<string>();

  constructor(init: { token?: string | null; outbox?: Outgoing[]; seen?: Seen } = {}) {
    this.token = init.token || null;
    this.outbox = (init.outbox || []).slice();
    this.seen = init.seen || { s: null, q: 0 };
    for (const o of this.outbox) this.messages.push(pendingMessage(o));
  }

  /** The visitor wrote something: it is shown at once as pending and kept until acked. */
  queue(id: string, text: string, button?: ButtonClick): ChatMessage {
    const o: Outgoing = button ? { id, text, button } : { id, text };
    this.outbox.push(o);
    const m = pendingMessage(o);
    this.messages.push(m);
    return m;
  }

  /** Un-acked messages not yet sent on this connection; they count as sent from now on. */
  toSend(): Outgoing[] {
    const out = this.outbox.filter((o) => !this.sentOn.has(o.id));
    for (const o of out) this.sentOn.add(o.id);
    return out;
  }

  /** Agent and bot messages of the current session the visitor has not seen yet. */
  get unread(): number {
    if (this.open) return 0;
    const after = this.seen.s === this.sessionId ? this.seen.q : 0;
    return this.messages.filter(
      (m) => m.sessionId === this.sessionId && m.seq !== null && m.seq > after && (m.sender === 'agent' || m.sender === 'bot'),
    ).length;
  }

  setOpen(open: boolean): void {
    this.open = open;
    this.markSeen();
  }

  apply(f: ServerFrame): Effect {
    switch (f.type) {
      case 'hello':
        return this.hello(f.visitor_token, f.session_id);
      case 'message':
        this.message(f);
        break;
      case 'ack':
        this.ack(f);
        break;
      case 'typing':
        if (f.from === 'agent' && (f.session_id === undefined || f.session_id === this.sessionId)) this.agentTyping = f.on;
        break;
      case 'session':
        if (this.adopt(f.session.id)) this.ended = f.session.status === 'ended';
        break;
      case 'error':
        return this.error(f);
    }
    return {};
  }

  private hello(token: string, sessionId: number | null): Effect {
    if (this.token && token !== this.token) {
      // The server did not know our token and made a new visitor: the conversation shown
      // belongs to the old identity. Only what the visitor is still waiting to send stays.
      this.messages = this.messages.filter((m) => m.pending);
      this.sessionId = null;
      this.reset();
    }
    this.token = token;
    this.sentOn.clear();
    if (sessionId === null) {
      // Our session ended while we were away; keep it on screen, the next send opens a new one.
      if (this.sessionId !== null) this.ended = true;
      return {};
    }
    if (sessionId !== this.sessionId) this.switchTo(sessionId);
    return { resume: this.contig };
  }

  /** Follows the newest session. Session ids only grow, so an older id is a stale frame. */
  private adopt(sessionId: number): boolean {
    if (this.sessionId === null || sessionId > this.sessionId) this.switchTo(sessionId);
    return sessionId === this.sessionId;
  }

  private switchTo(sessionId: number): void {
    this.sessionId = sessionId;
    this.reset();
  }

  private reset(): void {
    // A new session numbers its messages from 1 again.
    this.seqs.clear();
    this.contig = 0;
    this.ended = false;
    this.agentTyping = false;
  }

  private message(f: MessageFrame): void {
    if (!this.adopt(f.session_id) || this.seqs.has(f.seq)) return; // stale or already shown
    const own = f.client_id ? this.byClient(f.client_id) : undefined;
    if (own) {
      // Our own message came back (maybe before its ack): it is committed.
      this.commit(own, f.session_id, f.seq, f.created_at);
      own.messageId = f.message_id;
    } else {
      const m: ChatMessage = {
        key: f.sender === 'visitor' && f.client_id ? 'c' + f.client_id : `s${f.session_id}:${f.seq}`,
        sessionId: f.session_id,
        seq: f.seq,
        sender: f.sender,
        text: f.text,
        clientId: f.client_id || undefined,
        at: f.created_at,
        pending: false,
        messageId: f.message_id,
        content: f.content,
      };
      this.place(m);
      if (f.sender !== 'visitor') this.agentTyping = false;
    }
    this.shown(f.seq);
  }

  private ack(f: AckFrame): void {
    if (f.client_id === null) return; // acks answer sends, which all carry a client_id
    const m = this.byClient(f.client_id);
    this.drop(f.client_id);
    if (!m) return;
    // An ack naming a new session: the send opened it (its `session` frame may be late).
    this.adopt(f.session_id);
    this.commit(m, f.session_id, f.seq, f.created_at);
    if (f.session_id === this.sessionId) this.shown(f.seq);
  }

  private error(f: ErrorFrame): Effect {
    const ref = typeof f.ref === 'string' ? f.ref : undefined;
    if (ref === RESUME_REF) return { reconnect: true };
    const o = this.outbox.find((x) => x.id === ref);
    if (!o) return {};
    if (TRANSIENT.indexOf(f.code) >= 0) {
      // Not stored: send it again (same client id) soon — after the server's hint, if any.
      this.sentOn.delete(o.id);
      const hint = (f as { details?: { retry_after_ms?: unknown } }).details?.retry_after_ms;
      return typeof hint === 'number' && hint > 0 ? { retryLater: true, retryAfterMs: hint } : { retryLater: true };
    }
    this.drop(o.id);
    const m = this.byClient(o.id);
    if (m) {
      m.pending = false;
      m.failed = true;
    }
    return {};
  }

  private commit(m: ChatMessage, sessionId: number, seq: number, at?: string): void {
    this.drop(m.clientId!);
    m.sessionId = sessionId;
    m.seq = seq;
    m.pending = false;
    m.failed = false;
    if (at) m.at = at;
    this.place(m);
  }

  private shown(seq: number): void {
    this.seqs.add(seq);
    while (this.seqs.has(this.contig + 1)) this.contig++;
    this.markSeen();
  }

  private markSeen(): void {
    if (!this.open || this.sessionId === null) return;
    let q = this.seen.s === this.sessionId ? this.seen.q : 0;
    this.seqs.forEach((s) => (q = Math.max(q, s)));
    this.seen = { s: this.sessionId, q };
  }

  private byClient(id: string): ChatMessage | undefined {
    return this.messages.find((m) => m.clientId === id && m.sender === 'visitor');
  }

  private drop(id: string): void {
    this.outbox = this.outbox.filter((o) => o.id !== id);
    this.sentOn.delete(id);
  }

  /** (Re)inserts a committed message in (session, seq) order, before every pending one. */
  private place(m: ChatMessage): void {
    const list = this.messages;
    const at = list.indexOf(m);
    if (at >= 0) list.splice(at, 1);
    let i = list.length;
    while (i > 0 && (list[i - 1].pending || after(list[i - 1], m))) i--;
    list.splice(i, 0, m);
  }
}

function after(a: ChatMessage, b: ChatMessage): boolean {
  return (a.sessionId || 0) > (b.sessionId || 0) || (a.sessionId === b.sessionId && (a.seq || 0) > (b.seq || 0));
}

function pendingMessage(o: Outgoing): ChatMessage {
  const m: ChatMessage = { key: 'c' + o.id, sessionId: null, seq: null, sender: 'visitor', text: o.text, clientId: o.id, pending: true };
  if (o.button) m.content = { button: o.button };
  return m;
}

/** A bot message's buttons (`content.buttons`), malformed entries left out. */
export function buttonsOf(m: ChatMessage): ChatButton[] {
  const list = m.sender === 'bot' && m.content ? m.content.buttons : null;
  if (!Array.isArray(list)) return [];
  return list.filter((b) => b && typeof b.id === 'string' && typeof b.title === 'string');
}

/** How each message's buttons stand: `live` until a visitor message follows it; `chosen` is
 *  the id the visitor clicked, if they did. */
export function buttonStates(messages: ChatMessage[]): Map<ChatMessage, { live: boolean; chosen?: string }> {
  const out = new Map<ChatMessage, { live: boolean; chosen?: string }>();
  const clicks: Record<number, string> = {};
  let later = false;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    const click = m.sender === 'visitor' && m.content && (m.content.button as ButtonClick | undefined);
    if (click && typeof click.message_id === 'number') clicks[click.message_id] = click.id;
    if (buttonsOf(m).length) out.set(m, { live: !later, chosen: m.messageId === undefined ? undefined : clicks[m.messageId] });
    if (m.sender === 'visitor') later = true;
  }
  return out;
}

/** What the newest question asks for (`content.ask`) while it waits for the visitor's answer. */
export function asking(messages: ChatMessage[]): string | null {
  const m = messages[messages.length - 1];
  const ask = m && m.sender === 'bot' && m.content ? m.content.ask : null;
  return typeof ask === 'string' ? ask : null;
}
