// The agent websocket client: connects, reconnects with backoff, and owns the two pieces of
// bookkeeping that make a reconnect lossless (docs/protocol.md, "Reconnecting without loss"):
//  - the outbox: every `send` stays here until its `ack`, and is sent again with the SAME
//    client_id after a reconnect (the server stores each client_id once per session);
//  - resume points: per watched session, the highest seq seen without a gap; after a reconnect
//    a `resume` with that seq replays everything newer.
// It knows nothing about React or the inbox state; frames are handed to `onFrame`.
import { backoffDelay } from './backoff';
import { encodeCommand, errorClientId, parseServerFrame } from './protocol';
import type { AgentCommand, ErrorFrame, HelloFrame, ServerFrame } from './protocol';

export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The part of the browser WebSocket this client uses (a fake one in tests). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

const OPEN = 1;
/** Close code the server uses for a consumer that fell behind; reconnect and resume. */
export const CLOSE_LAGGING = 4008;
/**
 * Close code for "your role, permissions or membership changed": reconnect (the new `hello`
 * carries the new data scope) and let the app reload what the member may do.
 */
export const CLOSE_ACCESS_CHANGED = 4003;
/**
 * Close code for "this server may have missed other servers' events" (its Redis link came
 * back): reconnect at once and resume, as after 4008.
 */
export const CLOSE_RESYNC = 4009;

export interface OutboxEntry {
  session_id: number;
  client_id: string;
  text: string;
  /** A Messenger message tag the agent picked (past the 7-day window); absent otherwise. */
  tag?: string;
}

export interface AgentSocketHandlers {
  onFrame(frame: ServerFrame): void;
  onStatus(status: ConnectionStatus): void;
  /** After `hello`, once resumes and outbox re-sends have been written. */
  onReady(hello: HelloFrame, info: { reconnected: boolean }): void;
  /** The server refused a send for good (not retryable); it has left the outbox. */
  onSendRejected(entry: OutboxEntry, error: ErrorFrame): void;
  /** A reconnect attempt is scheduled (attempt counts failures since the last `hello`). */
  onRetryScheduled?(attempt: number, delayMs: number): void;
  /** The server closed with 4003: the member's access changed (a reconnect follows). */
  onAccessChanged?(): void;
}

export interface AgentSocketOptions {
  url: string;
  handlers: AgentSocketHandlers;
  createSocket?: (url: string) => WebSocketLike;
  random?: () => number;
  /** How often to ping; the pong proves the connection is alive. */
  heartbeatMs?: number;
  /** Treat the connection as dead after this long without any frame. */
  silenceMs?: number;
  /** Pause before re-sending a message the server could not store yet (db_unavailable). */
  retrySendMs?: number;
}

export class AgentSocket {
  private ws: WebSocketLike | null = null;
  private status: ConnectionStatus = 'closed';
  private attempt = 0;
  private everReady = false;
  private stopped = true;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private lastHeard = 0;
  private readonly outbox = new Map<string, OutboxEntry>();
  private readonly resumePoints = new Map<number, number>();
  private readonly retryTimers = new Set<ReturnType<typeof setTimeout>>();
  /** After a `busy` refusal: no send is written before this time (the server's hint)… */
  private pausedUntil = 0;
  /** …and these (refused, or sent during the pause) go out then, in outbox order. */
  private readonly held = new Set<string>();
  private readonly createSocket: (url: string) => WebSocketLike;
  private readonly random: () => number;
  private readonly heartbeatMs: number;
  private readonly silenceMs: number;
  private readonly retrySendMs: number;

  constructor(private readonly opts: AgentSocketOptions) {
    this.createSocket = opts.createSocket ?? ((url) => new WebSocket(url) as unknown as WebSocketLike);
    this.random = opts.random ?? Math.random;
    this.heartbeatMs = opts.heartbeatMs ?? 15_000;
    this.silenceMs = opts.silenceMs ?? 40_000;
    this.retrySendMs = opts.retrySendMs ?? 1_000;
  }

  get connectionStatus(): ConnectionStatus {
    return this.status;
  }

  /** Client ids sent but not yet acknowledged, oldest first. */
  get unacked(): OutboxEntry[] {
    return [...this.outbox.values()];
  }

  resumePoint(sessionId: number): number | undefined {
    return this.resumePoints.get(sessionId);
  }

  connect(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  /** Closes for good (logout, project switch). */
  close(): void {
    this.stopped = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      this.detach(ws);
      ws.close(1000, 'bye');
    }
    this.setStatus('closed');
  }

  /** Skip the backoff wait (e.g. the browser says the network is back). */
  reconnectNow(): void {
    if (this.stopped || this.status === 'open' || this.ws) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.open();
  }

  /** Queues a message; it is written now if connected, else after the next `hello`. */
  send(entry: OutboxEntry): void {
    this.outbox.set(entry.client_id, entry);
    if (this.status !== 'open') return;
    if (Date.now() < this.pausedUntil) this.held.add(entry.client_id);
    else this.write({ type: 'send', ...entry });
  }

  /** Typing is ephemeral: dropped while disconnected rather than queued. */
  typing(sessionId: number, on: boolean): void {
    if (this.status === 'open') this.write({ type: 'typing', session_id: sessionId, on });
  }

  /**
   * Watch a session for resume: `seq` is the highest seq the caller holds without a gap.
   * Never moves a point backwards.
   */
  track(sessionId: number, seq: number): void {
    const cur = this.resumePoints.get(sessionId);
    if (cur === undefined || seq > cur) this.resumePoints.set(sessionId, seq);
  }

  untrack(sessionId: number): void {
    this.resumePoints.delete(sessionId);
  }

  /** Asks for every message after `afterSeq` now (used to fill a gap). */
  resume(sessionId: number, afterSeq: number): void {
    if (this.status === 'open') this.write({ type: 'resume', session_id: sessionId, after_seq: afterSeq });
  }

  /** `connecting` only for the very first attempt; every retry is a reconnect. */
  private downStatus(): ConnectionStatus {
    return this.everReady || this.attempt > 0 ? 'reconnecting' : 'connecting';
  }

  private open(): void {
    this.reconnectTimer = null;
    this.setStatus(this.downStatus());
    let ws: WebSocketLike;
    try {
      ws = this.createSocket(this.opts.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      if (typeof ev.data === 'string') this.handleText(ev.data);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      // The server wants us back now, whatever failed before.
      if (ev?.code === CLOSE_LAGGING || ev?.code === CLOSE_RESYNC) this.attempt = 0;
      this.dropped();
      if (ev?.code === CLOSE_ACCESS_CHANGED) this.opts.handlers.onAccessChanged?.();
    };
    ws.onerror = () => {
      // A close event always follows; reconnecting is handled there.
    };
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
    };
  }

  private handleText(data: string): void {
    const frame = parseServerFrame(data);
    if (!frame) return;
    switch (frame.type) {
      case 'hello': {
        const reconnected = this.ready();
        this.opts.handlers.onFrame(frame);
        this.opts.handlers.onReady(frame, { reconnected });
        return;
      }
      case 'message': {
        // Advance the resume point only over a contiguous run; a gap keeps it where it is so
        // that the next resume refills the gap (the inbox drops duplicates by seq).
        const cur = this.resumePoints.get(frame.session_id);
        if (cur !== undefined && frame.seq === cur + 1) this.resumePoints.set(frame.session_id, frame.seq);
        break;
      }
      case 'ack':
        // Acks answer sends, which all carry a client_id; the type allows null.
        if (frame.client_id !== null) this.outbox.delete(frame.client_id);
        break;
      case 'error': {
        const clientId = errorClientId(frame);
        const entry = clientId ? this.outbox.get(clientId) : undefined;
        if (entry) {
          const hint = (frame as { details?: { retry_after_ms?: unknown } }).details?.retry_after_ms;
          if (frame.code === 'busy') {
            // Not stored, the server is at capacity: hold every send until its hint, then send
            // the held ones again (same client_id) in the order they were written.
            this.hold(entry.client_id, typeof hint === 'number' && hint > 0 ? hint : this.retrySendMs);
          } else if (frame.code === 'db_unavailable') {
            // Not stored: send again with the same client_id after a pause.
            const t = setTimeout(() => {
              this.retryTimers.delete(t);
              if (this.outbox.has(entry.client_id) && this.status === 'open') this.write({ type: 'send', ...entry });
            }, this.retrySendMs);
            this.retryTimers.add(t);
          } else {
            this.outbox.delete(entry.client_id);
            this.opts.handlers.onSendRejected(entry, frame);
          }
        }
        break;
      }
    }
    this.opts.handlers.onFrame(frame);
  }

  private hold(clientId: string, ms: number): void {
    this.held.add(clientId);
    const until = Date.now() + ms;
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    const t = setTimeout(() => {
      this.retryTimers.delete(t);
      if (Date.now() < this.pausedUntil) return; // a later refusal moved the pause on
      this.pausedUntil = 0;
      const held = [...this.outbox.values()].filter((e) => this.held.has(e.client_id));
      this.held.clear();
      if (this.status !== 'open') return;
      for (const entry of held) this.write({ type: 'send', ...entry });
    }, ms);
    this.retryTimers.add(t);
  }

  /** Connected and greeted: resume watched sessions, re-send the outbox. */
  private ready(): boolean {
    const reconnected = this.everReady;
    this.everReady = true;
    this.attempt = 0;
    this.setStatus('open');
    for (const [sessionId, seq] of this.resumePoints) {
      this.write({ type: 'resume', session_id: sessionId, after_seq: seq });
    }
    for (const entry of this.outbox.values()) this.write({ type: 'send', ...entry });
    this.startHeartbeat();
    return reconnected;
  }

  private dropped(): void {
    const ws = this.ws;
    this.ws = null;
    if (ws) this.detach(ws);
    this.stopHeartbeat();
    for (const t of this.retryTimers) clearTimeout(t);
    // The next `hello` sends the whole outbox again.
    this.held.clear();
    this.pausedUntil = 0;
    this.retryTimers.clear();
    if (this.stopped) return;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = backoffDelay(this.attempt, this.random);
    this.attempt += 1;
    this.setStatus(this.downStatus());
    this.reconnectTimer = setTimeout(() => this.open(), delay);
    this.opts.handlers.onRetryScheduled?.(this.attempt, delay);
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > this.silenceMs) {
        // Half-open connection (laptop slept, network changed): give up on it now rather
        // than waiting for TCP to notice.
        const ws = this.ws;
        this.dropped();
        ws?.close(4000, 'silent');
        return;
      }
      this.write({ type: 'ping' });
    }, this.heartbeatMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private clearTimers(): void {
    this.stopHeartbeat();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
  }

  private detach(ws: WebSocketLike): void {
    ws.onopen = null;
    ws.onmessage = null;
    ws.onerror = null;
    ws.onclose = null;
  }

  private write(cmd: AgentCommand): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return;
    try {
      ws.send(encodeCommand(cmd));
    } catch {
      // The close event follows and the outbox re-sends after reconnecting.
    }
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.opts.handlers.onStatus(status);
  }
}

/** ws(s)://host/ws/agent?project=PID for the page's own origin. */
export function agentSocketUrl(projectId: number, loc: Pick<Location, 'protocol' | 'host'> = window.location): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws/agent?project=${projectId}`;
}
