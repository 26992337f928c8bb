// One visitor websocket that keeps itself up: reconnects with jittered backoff, notices a dead
// connection the browser has not noticed (no answer to a ping), and reports a status the
// view can show. It knows nothing about messages; client.ts does.
import { parseFrame, pingFrame, type ServerFrame } from './protocol';

export type Status = 'connecting' | 'online' | 'reconnecting' | 'offline';

/** The part of the browser's WebSocket the link uses (a fake one in tests). */
export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number): void;
  // `any` events: the DOM's handler types name MessageEvent/CloseEvent, which a fake lacks.
  onmessage: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
}

export interface LinkEnv {
  open(url: string): SocketLike;
  online(): boolean;
  random(): number;
}

/** 4008: the server dropped us for lagging; we are wanted back at once. */
const LAGGING = 4008;
/** 4009: the server may have missed other servers' events; back at once, and resume. */
const RESYNC = 4009;
const PING_EVERY = 15000;
const PONG_WITHIN = 10000;

/** Delay before reconnect attempt `n` (0-based): 0.5 s doubling to 5 s, each jittered down by
 *  up to half so that many widgets cut by one outage do not all come back in the same instant. */
export function backoff(n: number, random: number): number {
  return Math.min(5000, 500 * Math.pow(2, n)) * (1 - random / 2);
}

export class Link {
  status: Status = 'connecting';
  /** True between the server's hello and the socket's end: frames may be sent. */
  ready = false;
  private ws: SocketLike | null = null;
  private attempt = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private ping: ReturnType<typeof setInterval> | undefined;
  private deadline: ReturnType<typeof setTimeout> | undefined;
  private everOnline = false;

  constructor(
    private url: () => string,
    private onFrame: (f: ServerFrame) => void,
    private onStatus: (s: Status) => void,
    private env: LinkEnv,
  ) {}

  start(): void {
    clearTimeout(this.retry);
    if (this.ws) return;
    this.setStatus(!this.env.online() ? 'offline' : this.everOnline ? 'reconnecting' : 'connecting');
    let ws: SocketLike;
    try {
      ws = this.env.open(this.url());
    } catch {
      this.later();
      return;
    }
    this.ws = ws;
    ws.onmessage = (ev: { data: unknown }) => {
      clearTimeout(this.deadline);
      const f = typeof ev.data === 'string' ? parseFrame(ev.data) : null;
      if (!f) return;
      if (f.type === 'hello') {
        this.ready = true;
        this.everOnline = true;
        this.attempt = 0;
        this.setStatus('online');
        clearInterval(this.ping);
        this.ping = setInterval(() => this.heartbeat(), PING_EVERY);
      }
      this.onFrame(f);
    };
    ws.onclose = (ev: { code: number }) => this.closed(ev.code);
    ws.onerror = () => {}; // a close event always follows
  }

  /** Sends a frame if the connection is up; false otherwise (the caller keeps what matters). */
  send(frame: object): boolean {
    if (!this.ready || !this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Drops the current connection and starts over (after the usual backoff). */
  restart(): void {
    if (this.ws) this.closed(0, true);
  }

  /** For good (the console's test-run chat closing; the widget itself never stops). */
  stop(): void {
    this.restart();
    clearTimeout(this.retry);
  }

  /** The browser says the network is back: try now instead of waiting out the backoff. */
  wake(): void {
    if (!this.ws) {
      this.attempt = 0;
      this.start();
    }
  }

  /** The browser says the network is gone. */
  offline(): void {
    if (!this.ready) this.setStatus('offline');
  }

  private heartbeat(): void {
    // Browsers answer the server's pings by themselves, but a connection whose peer vanished
    // (a laptop lid, a NAT timeout) can look open for minutes: ask, and drop it if unanswered.
    if (this.send(pingFrame())) {
      clearTimeout(this.deadline);
      this.deadline = setTimeout(() => this.restart(), PONG_WITHIN);
    }
  }

  private closed(code: number, force = false): void {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.ready = false;
    clearInterval(this.ping);
    clearTimeout(this.deadline);
    ws.onclose = ws.onmessage = ws.onerror = null;
    if (force) {
      try {
        ws.close();
      } catch {
        /* already closing */
      }
    }
    if (code === LAGGING || code === RESYNC) this.attempt = 0;
    this.setStatus(this.env.online() ? 'reconnecting' : 'offline');
    this.later();
  }

  private later(): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.start(), backoff(this.attempt++, this.env.random()));
  }

  private setStatus(s: Status): void {
    if (s !== this.status) {
      this.status = s;
      this.onStatus(s);
    }
  }
}
