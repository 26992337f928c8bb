// Ties the conversation (state.ts) to the connection (socket.ts) and to localStorage: resume
// after every hello, send each queued message once per connection, retry refused-for-now
// sends, remember the visitor's token, outbox and read position across page loads.
import { Chat, RESUME_REF, type Outgoing, type Seen } from './state';
import { Link, type LinkEnv, type Status } from './socket';
import { resumeFrame, sendFrame, typingFrame, type ButtonClick, type ServerFrame } from './protocol';
import { TypingSender } from './typing';

/** localStorage, or nothing: it throws in sandboxed frames and some private modes. */
export interface Store {
  get(name: string): string | null;
  set(name: string, value: string | null): void;
}

export function localStore(prefix: string, ls?: Storage): Store {
  return {
    get(name) {
      try {
        return (ls || localStorage).getItem(prefix + name);
      } catch {
        return null;
      }
    },
    set(name, value) {
      try {
        if (value === null) (ls || localStorage).removeItem(prefix + name);
        else (ls || localStorage).setItem(prefix + name, value);
      } catch {
        /* storage full or forbidden: the widget still works for this page */
      }
    },
  };
}

function load<T>(store: Store, name: string, ok: (x: any) => boolean): T | undefined {
  try {
    const x = JSON.parse(store.get(name) || 'null');
    return ok(x) ? x : undefined;
  } catch {
    return undefined;
  }
}

/** A client id unique enough to be the server's dedupe key; works outside secure contexts. */
export function newId(): string {
  const b = new Uint8Array(12);
  const c = typeof crypto !== 'undefined' ? crypto : undefined;
  if (c && c.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < b.length; i++) b[i] = (Math.random() * 256) | 0;
  let s = 'w';
  for (let i = 0; i < b.length; i++) s += (b[i] + 256).toString(16).slice(1);
  return s;
}

/** Messages the server refused for now are sent again after this long. */
const RETRY_MS = 1500;
/** An agent's typing `on` with no follow-up (its `off` lost with a dropped socket) expires. */
const TYPING_TTL = 8000;

export interface ClientOptions {
  server: string;
  key: string;
  store: Store;
  env: LinkEnv;
}

export class Client {
  chat: Chat;
  link: Link;
  typing: TypingSender;
  onChange: () => void = () => {};
  private saved = { outbox: '', seen: '' };
  private retry: ReturnType<typeof setTimeout> | undefined;
  /** Until then nothing is sent: the server said `busy` and when to come back. */
  private pausedUntil = 0;
  private typingTtl: ReturnType<typeof setTimeout> | undefined;

  constructor(private o: ClientOptions) {
    const s = o.store;
    this.chat = new Chat({
      token: s.get('token'),
      outbox: load<Outgoing[]>(s, 'outbox', (x) => Array.isArray(x) && x.every((i) => i && typeof i.id === 'string' && typeof i.text === 'string')),
      seen: load<Seen>(s, 'seen', (x) => x && typeof x.q === 'number'),
    });
    this.link = new Link(
      () => this.url(),
      (f) => this.frame(f),
      () => this.onChange(),
      o.env,
    );
    this.typing = new TypingSender((on) => this.link.send(typingFrame(on)));
  }

  get status(): Status {
    return this.link.status;
  }

  start(): void {
    this.link.start();
  }

  /** The visitor sends `text`: shown and stored at once, delivered when the socket allows. */
  send(text: string): void {
    text = text.trim();
    if (!text) return;
    this.typing.stop();
    this.chat.queue(newId(), text);
    this.flush();
    this.changed();
  }

  /** The visitor clicked a bot message's button: sent like a message whose text is its title. */
  click(messageId: number, button: { id: string; title: string }): void {
    this.typing.stop();
    const click: ButtonClick = { message_id: messageId, id: button.id };
    this.chat.queue(newId(), button.title, click);
    this.flush();
    this.changed();
  }

  setOpen(open: boolean): void {
    this.chat.setOpen(open);
    this.changed();
  }

  private url(): string {
    const base = this.o.server.replace(/^http/, 'ws').replace(/\/+$/, '');
    const token = this.chat.token;
    return `${base}/ws/visitor?key=${encodeURIComponent(this.o.key)}` + (token ? `&token=${encodeURIComponent(token)}` : '');
  }

  private frame(f: ServerFrame): void {
    const fx = this.chat.apply(f);
    if (f.type === 'hello') this.o.store.set('token', f.visitor_token);
    if (fx.resume !== undefined) this.link.send(resumeFrame(fx.resume, RESUME_REF));
    if (f.type === 'hello') this.flush();
    if (fx.retryLater) {
      clearTimeout(this.retry);
      const wait = fx.retryAfterMs ?? RETRY_MS;
      // A `busy` hint holds every send until then, so nothing overtakes the refused ones.
      if (fx.retryAfterMs !== undefined) this.pausedUntil = Math.max(this.pausedUntil, Date.now() + wait);
      this.retry = setTimeout(() => {
        this.pausedUntil = 0;
        this.flush();
      }, wait);
    }
    if (fx.reconnect) this.link.restart();
    if (f.type === 'typing') {
      clearTimeout(this.typingTtl);
      if (this.chat.agentTyping) {
        this.typingTtl = setTimeout(() => {
          this.chat.agentTyping = false;
          this.onChange();
        }, TYPING_TTL);
      }
    }
    this.changed();
  }

  /** Sends every queued message not yet sent on this connection (each exactly once). */
  private flush(): void {
    if (!this.link.ready || Date.now() < this.pausedUntil) return;
    for (const o of this.chat.toSend()) this.link.send(sendFrame(o.id, o.text, o.button));
  }

  /** Persists what must survive a reload (only when it changed) and redraws. */
  private changed(): void {
    const outbox = JSON.stringify(this.chat.outbox);
    if (outbox !== this.saved.outbox) this.o.store.set('outbox', (this.saved.outbox = outbox));
    const seen = JSON.stringify(this.chat.seen);
    if (seen !== this.saved.seen) this.o.store.set('seen', (this.saved.seen = seen));
    this.onChange();
  }
}
