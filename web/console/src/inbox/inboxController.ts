// Glue between the REST API, the agent socket and the inbox reducer. Owns the side effects
// (requests, timers, localStorage) so that components only read state and call intentions
// like `openChat` or `send`. One controller per signed-in user and project.
import { ApiError, authLost } from '../api/http';
import type { Api } from '../api/http';
import type { ChannelsApi } from '../api/channels';
import type { HostingApi, HostingResult } from '../api/hosting';
import type { Session } from '../api/types';
import { nextBoundaryMs } from '../channels/replyWindow';
import { AgentSocket } from '../realtime/agentSocket';
import type { AgentSocketHandlers, AgentSocketOptions, OutboxEntry } from '../realtime/agentSocket';
import type { ServerFrame } from '../realtime/protocol';
import { contiguousMax, lastSeq } from './chatLog';
import { initialState, reduce } from './reducer';
import type { InboxAction, InboxState, PendingMessage } from './reducer';
import { loadSeen, saveSeen } from './seenStorage';
import { TAB_IDS, tabQuery } from './tabs';
import type { TabId, Viewer } from './tabs';
import { TypingThrottle } from './typingThrottle';

export type InboxApi = Pick<Api, 'sessions' | 'session' | 'messages' | 'take' | 'assign' | 'end' | 'me'>;

/** Channel kinds, Messenger reply windows and platform retries (api/channels.ts). */
export type InboxChannelsApi = Pick<ChannelsApi, 'channels' | 'replyWindow' | 'retryMessage'>;

/** Robot hosting switches (api/hosting.ts). */
export type InboxHostingApi = Pick<HostingApi, 'setHosting' | 'setHostingBatch' | 'setHostingAllAssigned'>;

/** The socket operations the controller needs (an `AgentSocket`). */
export type SocketPort = Pick<AgentSocket, 'connect' | 'close' | 'send' | 'typing' | 'track' | 'reconnectNow'>;

export interface InboxControllerOptions {
  api: InboxApi;
  /** Without it every session is treated as a web chat (no reply window, no platform retry). */
  channels?: InboxChannelsApi;
  /** Without it the hosting switches refuse (`hosting_unavailable`). */
  hosting?: InboxHostingApi;
  projectId: number;
  viewer: Viewer;
  storage?: Storage | null;
  createSocket?: (handlers: AgentSocketHandlers) => SocketPort;
  socketUrl?: string;
  socketOptions?: Partial<AgentSocketOptions>;
  newClientId?: () => string;
  now?: () => Date;
  /** The session cookie is gone (expired, logged out elsewhere). */
  onUnauthenticated?: () => void;
  /** The member's role, permissions or membership changed (socket closed with 4003). */
  onAccessChanged?: () => void;
}

export const PAGE_SIZE = 50;
/** Visitor typing shows for this long after the last `on`, in case the `off` is lost. */
export const VISITOR_TYPING_TTL_MS = 6000;
/** The server refuses longer texts (`text_too_long`). */
export const MAX_TEXT = 8000;

type Listener = () => void;

export class InboxController {
  private state: InboxState;
  private readonly listeners = new Set<Listener>();
  private readonly socket: SocketPort;
  private readonly api: InboxApi;
  private readonly projectId: number;
  private readonly storage: Storage | null;
  private readonly newClientId: () => string;
  private readonly now: () => Date;
  /** Latest replace request per tab; older answers are dropped. */
  private readonly tabGeneration: Record<TabId, number> = { unassigned: 0, mine: 0, all: 0, ended: 0 };
  private readonly fetchingSessions = new Map<number, Promise<Session | undefined>>();
  private readonly repairing = new Set<number>();
  private readonly typingTimers = new Map<number, ReturnType<typeof setTimeout>>();
  private readonly typingOut = new Map<number, TypingThrottle>();
  /** Unsent composer text per chat, kept while switching between chats. */
  private readonly drafts = new Map<number, string>();
  private savedSeen: InboxState['seen'];
  private stopped = false;
  private readonly frameListeners = new Set<(frame: ServerFrame) => void>();
  /** The channel list in flight (kinds are read once, and again for a channel not seen yet). */
  private loadingChannels: Promise<void> | null = null;
  /** Latest reply-window request per session; older answers are dropped. */
  private readonly windowGeneration = new Map<number, number>();
  /** Refetch of the open chat's reply window when its state next changes (24 h, 7 days). */
  private windowTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly opts: InboxControllerOptions) {
    this.api = opts.api;
    this.projectId = opts.projectId;
    this.storage = opts.storage === undefined ? safeLocalStorage() : opts.storage;
    this.newClientId = opts.newClientId ?? (() => crypto.randomUUID());
    this.now = opts.now ?? (() => new Date());
    const seen = loadSeen(this.storage, opts.viewer.userId, opts.projectId);
    this.savedSeen = seen;
    this.state = initialState(opts.viewer, seen);
    const handlers: AgentSocketHandlers = {
      onFrame: (f) => this.onFrame(f),
      onStatus: (status) => this.dispatch({ type: 'connection', status }),
      onReady: (_hello, info) => this.onReady(info.reconnected),
      onAccessChanged: () => this.opts.onAccessChanged?.(),
      onSendRejected: (entry, error) => {
        this.dispatch({ type: 'sendRejected', clientId: entry.client_id, error: sendErrorText(error.code, error.message) });
        // A refusal may mean the reply window moved on (closed, or now needs a tag).
        void this.refreshReplyWindow(entry.session_id);
      },
      onRetryScheduled: (attempt) => {
        // Repeated failures may mean the session cookie is gone (the upgrade answers 401).
        if (attempt === 3 || attempt % 10 === 0) void this.checkAuth();
      },
    };
    this.socket = opts.createSocket
      ? opts.createSocket(handlers)
      : new AgentSocket({ url: opts.socketUrl ?? '', handlers, ...opts.socketOptions });
  }

  // --- store interface (useSyncExternalStore) ---

  getState = (): InboxState => this.state;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  dispatch(action: InboxAction): void {
    const next = reduce(this.state, action);
    if (next === this.state) return;
    this.state = next;
    if (next.seen !== this.savedSeen) {
      this.savedSeen = next.seen;
      saveSeen(this.storage, next.viewer.userId, this.projectId, next.seen);
    }
    for (const l of this.listeners) l();
  }

  // --- lifecycle ---

  /** Restartable: React's StrictMode runs effects as start, stop, start in development. */
  start(): void {
    this.stopped = false;
    this.socket.connect();
    // The queue and my chats first: they carry the tab counts.
    for (const tab of ['unassigned', 'mine', 'all'] as const) void this.loadTab(tab, 'replace');
    void this.loadChannels();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.typingOut.values()) t.stop();
    for (const t of this.typingTimers.values()) clearTimeout(t);
    this.typingTimers.clear();
    this.clearWindowTimer();
    this.socket.close();
  }

  /** The browser is back online: don't wait for the backoff. */
  networkBack(): void {
    this.socket.reconnectNow();
  }

  // --- lists ---

  /** Loads a tab's first page unless it has been loaded. */
  ensureTab(tab: TabId): void {
    const t = this.state.tabs[tab];
    if (!t.loaded && !t.loading) void this.loadTab(tab, 'replace');
  }

  loadMore(tab: TabId): void {
    const t = this.state.tabs[tab];
    if (t.loading || !t.nextCursor) return;
    void this.loadTab(tab, 'append');
  }

  private async loadTab(tab: TabId, mode: 'replace' | 'append'): Promise<void> {
    const t = this.state.tabs[tab];
    const generation = mode === 'replace' ? ++this.tabGeneration[tab] : this.tabGeneration[tab];
    const sinceTouch = this.state.touchCounter;
    // A refetch asks for as many rows as the tab already showed (up to the API's 200), so
    // "load more" pages are not lost on reconnect.
    const limit = mode === 'replace' ? Math.min(200, Math.max(PAGE_SIZE, t.ids.length)) : PAGE_SIZE;
    this.dispatch({ type: 'tabLoading', tab });
    try {
      const page = await this.api.sessions(this.projectId, { ...tabQuery(tab), limit, cursor: mode === 'append' ? t.nextCursor : null });
      if (this.stopped || generation !== this.tabGeneration[tab]) return;
      this.dispatch({ type: 'tabPage', tab, page, mode, sinceTouch });
    } catch (e) {
      if (this.stopped || generation !== this.tabGeneration[tab]) return;
      if (authLost(e, this.opts.onUnauthenticated)) return;
      this.dispatch({ type: 'tabFailed', tab, error: errorText(e) });
    }
  }

  // --- chats ---

  openChat(sessionId: number | null): void {
    const prev = this.state.openSessionId;
    if (prev !== null && prev !== sessionId) this.typingOut.get(prev)?.stop();
    this.dispatch({ type: 'open', sessionId });
    if (prev !== sessionId) this.clearWindowTimer();
    if (sessionId === null) return;
    if (!this.state.sessions[sessionId]) void this.fetchSession(sessionId);
    void this.ensureLog(sessionId).then(() => this.refreshReplyWindow(sessionId));
  }

  // --- channels and reply windows ---

  /** Reads every channel's kind; shared by concurrent callers. */
  private loadChannels(): Promise<void> {
    const api = this.opts.channels;
    if (!api) return Promise.resolve();
    if (this.loadingChannels) return this.loadingChannels;
    this.loadingChannels = (async () => {
      try {
        const list = await api.channels(this.projectId);
        if (!this.stopped) this.dispatch({ type: 'channelKinds', channels: list.map((c) => ({ id: c.id, kind: c.kind })) });
      } catch (e) {
        authLost(e, this.opts.onUnauthenticated); // without kinds chats read as web: no window bar
      } finally {
        this.loadingChannels = null;
      }
    })();
    return this.loadingChannels;
  }

  /** Whether the session is on a Messenger channel (reading the channels again for a new one). */
  private async isMessenger(sessionId: number): Promise<boolean> {
    const s = this.state.sessions[sessionId];
    if (!s || !this.opts.channels) return false;
    if (!(s.channel_id in this.state.channelKinds)) await this.loadChannels();
    return this.state.channelKinds[s.channel_id] === 'messenger';
  }

  /**
   * Reads a Messenger session's reply window (on open, after each visitor message, after a
   * refused send, and at the window's next boundary while the chat is open).
   */
  async refreshReplyWindow(sessionId: number): Promise<void> {
    const api = this.opts.channels;
    if (!api || this.stopped || !(await this.isMessenger(sessionId))) return;
    const generation = (this.windowGeneration.get(sessionId) ?? 0) + 1;
    this.windowGeneration.set(sessionId, generation);
    this.dispatch({ type: 'replyWindowLoading', sessionId });
    try {
      const w = await api.replyWindow(this.projectId, sessionId);
      if (this.stopped || this.windowGeneration.get(sessionId) !== generation) return;
      this.dispatch({ type: 'replyWindow', sessionId, window: w });
      if (this.state.openSessionId === sessionId) this.armWindowTimer(sessionId);
    } catch (e) {
      if (this.stopped || this.windowGeneration.get(sessionId) !== generation) return;
      if (authLost(e, this.opts.onUnauthenticated)) return;
      this.dispatch({ type: 'replyWindowFailed', sessionId, error: errorText(e) });
    }
  }

  private armWindowTimer(sessionId: number): void {
    this.clearWindowTimer();
    const ms = nextBoundaryMs(this.state.replyWindows[sessionId]?.window, this.now().getTime());
    if (ms === null) return;
    // A second past the boundary, so the server's clock has passed it too. setTimeout cannot
    // wait longer than ~24.8 days; windows are at most 7 days.
    this.windowTimer = setTimeout(() => {
      this.windowTimer = null;
      if (this.state.openSessionId === sessionId) void this.refreshReplyWindow(sessionId);
    }, ms + 1000);
  }

  private clearWindowTimer(): void {
    if (this.windowTimer) clearTimeout(this.windowTimer);
    this.windowTimer = null;
  }

  /** Sends a failed or unconfirmed platform message again; throws the server's refusal. */
  async retryDelivery(sessionId: number, messageId: number): Promise<void> {
    const api = this.opts.channels;
    if (!api) return;
    try {
      const m = await api.retryMessage(this.projectId, sessionId, messageId);
      if (!this.stopped) this.dispatch({ type: 'messageUpdated', message: m });
    } catch (e) {
      if (authLost(e, this.opts.onUnauthenticated)) return;
      throw e;
    }
  }

  /** Scrolled to the top: the page of messages just before the oldest one shown. */
  async loadOlder(sessionId: number): Promise<void> {
    const log = this.state.logs[sessionId];
    if (!log || !log.loaded || log.loadingOlder || log.messages.length === 0) return;
    const oldest = log.messages[0].seq;
    if (oldest <= 1) return;
    this.dispatch({ type: 'logLoading', sessionId, older: true });
    try {
      const page = await this.api.messages(this.projectId, sessionId, { beforeSeq: oldest, limit: PAGE_SIZE });
      if (this.stopped) return;
      this.dispatch({ type: 'logPage', sessionId, items: page.items, kind: 'older' });
    } catch (e) {
      if (authLost(e, this.opts.onUnauthenticated)) return;
      this.dispatch({ type: 'logFailed', sessionId, error: errorText(e) });
    }
  }

  private async ensureLog(sessionId: number): Promise<void> {
    const log = this.state.logs[sessionId];
    if (log && (log.loaded || log.loading)) return;
    // The log exists from now on, so frames that arrive while the page loads are kept.
    this.dispatch({ type: 'logLoading', sessionId, older: false });
    try {
      let session: Session | undefined = this.state.sessions[sessionId];
      if (!session) session = await this.fetchSession(sessionId);
      if (!session) throw new ApiError(404, 'not_found', 'This conversation does not exist or is not yours to see.');
      const page = await this.api.messages(this.projectId, sessionId, { beforeSeq: session.last_seq + 1, limit: PAGE_SIZE });
      if (this.stopped) return;
      this.dispatch({ type: 'logPage', sessionId, items: page.items, kind: 'latest' });
      this.afterLogChange(sessionId);
    } catch (e) {
      if (authLost(e, this.opts.onUnauthenticated)) return;
      this.dispatch({ type: 'logFailed', sessionId, error: errorText(e) });
    }
  }

  /** Keeps the socket's resume point current and fills any gap in the log. */
  private afterLogChange(sessionId: number): void {
    const log = this.state.logs[sessionId];
    if (!log || !log.loaded) return;
    const contiguous = contiguousMax(log.messages);
    this.socket.track(sessionId, contiguous);
    const session = this.state.sessions[sessionId];
    const target = Math.max(lastSeq(log.messages), session?.last_seq ?? 0);
    if (target > contiguous) void this.repairGap(sessionId, contiguous);
  }

  private async repairGap(sessionId: number, afterSeq: number): Promise<void> {
    if (this.repairing.has(sessionId)) return;
    this.repairing.add(sessionId);
    try {
      const page = await this.api.messages(this.projectId, sessionId, { afterSeq, limit: 500 });
      if (this.stopped) return;
      this.dispatch({ type: 'logPage', sessionId, items: page.items, kind: 'after' });
    } catch (e) {
      authLost(e, this.opts.onUnauthenticated);
      return; // the next reconnect's resume covers it
    } finally {
      this.repairing.delete(sessionId);
    }
    const log = this.state.logs[sessionId];
    if (log) this.socket.track(sessionId, contiguousMax(log.messages));
  }

  /** GET one session; concurrent calls for the same id share one request. */
  private fetchSession(sessionId: number): Promise<Session | undefined> {
    const inflight = this.fetchingSessions.get(sessionId);
    if (inflight) return inflight;
    const p = (async () => {
      try {
        const s = await this.api.session(this.projectId, sessionId);
        if (!this.stopped) this.dispatch({ type: 'sessionFetched', session: s });
        return this.state.sessions[sessionId];
      } catch (e) {
        authLost(e, this.opts.onUnauthenticated);
        return undefined;
      } finally {
        this.fetchingSessions.delete(sessionId);
      }
    })();
    this.fetchingSessions.set(sessionId, p);
    return p;
  }

  // --- composing ---

  /**
   * Sends over the socket; shown as pending until the server's ack. `tag`: the Messenger
   * message tag the agent picked (only past the 7-day window).
   */
  send(sessionId: number, text: string, tag?: string): boolean {
    if (text.trim() === '' || text.length > MAX_TEXT) return false;
    const clientId = this.newClientId();
    const pending: PendingMessage = { clientId, sessionId, text, createdAt: this.now().toISOString(), state: 'sending', error: null };
    if (tag) pending.tag = tag;
    this.dispatch({ type: 'pendingAdded', pending });
    this.typingOut.get(sessionId)?.stop();
    this.drafts.delete(sessionId);
    this.socket.send(outboxEntry(pending));
    return true;
  }

  /** Sends a refused message again, with the same client_id (the server stores it once). */
  retry(clientId: string): void {
    const p = this.state.pending.find((x) => x.clientId === clientId);
    if (!p || p.state !== 'failed') return;
    this.dispatch({ type: 'pendingRetried', clientId });
    this.socket.send(outboxEntry(p));
  }

  /** Forgets a message the server refused. */
  discard(clientId: string): void {
    this.dispatch({ type: 'pendingDiscarded', clientId });
  }

  draft(sessionId: number): string {
    return this.drafts.get(sessionId) ?? '';
  }

  /** The composer's text changed: keep it as the draft and tell the visitor we type. */
  composing(sessionId: number, text: string): void {
    if (text === '') this.drafts.delete(sessionId);
    else this.drafts.set(sessionId, text);
    let t = this.typingOut.get(sessionId);
    if (!t) {
      t = new TypingThrottle((on) => this.socket.typing(sessionId, on));
      this.typingOut.set(sessionId, t);
    }
    if (text === '') t.stop();
    else t.input();
  }

  // --- assignment (REST: the answer is the updated session; a `session` frame follows too) ---

  async take(sessionId: number): Promise<void> {
    await this.sessionCommand(() => this.api.take(this.projectId, sessionId));
  }

  async assign(sessionId: number, userId: number | null): Promise<void> {
    await this.sessionCommand(() => this.api.assign(this.projectId, sessionId, userId));
  }

  async end(sessionId: number): Promise<void> {
    await this.sessionCommand(() => this.api.end(this.projectId, sessionId));
  }

  // --- robot hosting (the server also sends a `session` frame and the system line) ---

  async setHosting(sessionId: number, hosted: boolean): Promise<void> {
    const api = this.hostingApi();
    await this.sessionCommand(() => api.setHosting(this.projectId, sessionId, hosted));
  }

  /** One request for the whole selection; the rows follow through their `session` frames. */
  async setHostingBatch(sessionIds: readonly number[], hosted: boolean): Promise<HostingResult> {
    const api = this.hostingApi();
    try {
      return await api.setHostingBatch(this.projectId, sessionIds, hosted);
    } catch (e) {
      authLost(e, this.opts.onUnauthenticated);
      throw e;
    }
  }

  /** Every assigned session in my data scope. */
  async setHostingAllAssigned(hosted: boolean): Promise<HostingResult> {
    const api = this.hostingApi();
    try {
      return await api.setHostingAllAssigned(this.projectId, hosted);
    } catch (e) {
      authLost(e, this.opts.onUnauthenticated);
      throw e;
    }
  }

  private hostingApi(): InboxHostingApi {
    if (!this.opts.hosting) throw new ApiError(0, 'hosting_unavailable', 'Robot hosting is not available here.');
    return this.opts.hosting;
  }

  private async sessionCommand(run: () => Promise<Session>): Promise<void> {
    try {
      const s = await run();
      if (!this.stopped) this.dispatch({ type: 'sessionFetched', session: s });
    } catch (e) {
      if (authLost(e, this.opts.onUnauthenticated)) return;
      throw e;
    }
  }

  // --- socket events ---

  /** Every socket frame, after the inbox applied it (pages like session management follow them). */
  subscribeFrames = (listener: (frame: ServerFrame) => void): (() => void) => {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  };

  private onFrame(frame: ServerFrame): void {
    this.dispatch({ type: 'frame', frame });
    for (const l of this.frameListeners) l(frame);
    switch (frame.type) {
      case 'message': {
        if (!this.state.sessions[frame.session_id]) void this.fetchSession(frame.session_id);
        const log = this.state.logs[frame.session_id];
        if (log?.loaded && contiguousMax(log.messages) < frame.seq) this.afterLogChange(frame.session_id);
        // The person wrote: the 24 h window starts again.
        if (frame.sender === 'visitor' && (frame.session_id === this.state.openSessionId || frame.session_id in this.state.replyWindows)) {
          void this.refreshReplyWindow(frame.session_id);
        }
        break;
      }
      case 'typing':
        if (frame.from === 'visitor') this.armTypingExpiry(frame.session_id, frame.on);
        break;
    }
  }

  private armTypingExpiry(sessionId: number, on: boolean): void {
    const old = this.typingTimers.get(sessionId);
    if (old) clearTimeout(old);
    this.typingTimers.delete(sessionId);
    if (!on) return;
    this.typingTimers.set(
      sessionId,
      setTimeout(() => {
        this.typingTimers.delete(sessionId);
        this.dispatch({ type: 'typingExpired', sessionId });
      }, VISITOR_TYPING_TTL_MS),
    );
  }

  private onReady(reconnected: boolean): void {
    // Lists may have changed while we were away (or, on the first connect, between the first
    // REST page and the socket): refetch every tab that has been shown. Messages of open
    // logs come back through the socket's `resume`.
    for (const tab of TAB_IDS) {
      const t = this.state.tabs[tab];
      if (t.loaded || t.loading) void this.loadTab(tab, 'replace');
    }
    if (reconnected && this.state.openSessionId !== null) void this.fetchSession(this.state.openSessionId);
  }

  // --- auth ---


  private async checkAuth(): Promise<void> {
    try {
      await this.api.me();
    } catch (e) {
      authLost(e, this.opts.onUnauthenticated);
    }
  }
}

function outboxEntry(p: PendingMessage): OutboxEntry {
  const entry: OutboxEntry = { session_id: p.sessionId, client_id: p.clientId, text: p.text };
  if (p.tag) entry.tag = p.tag;
  return entry;
}

function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : 'Something went wrong.';
}

function sendErrorText(code: string, message: string): string {
  switch (code) {
    case 'session_ended':
      return 'Not sent: this conversation has ended.';
    case 'forbidden':
      return 'Not sent: this conversation is not yours to answer.';
    case 'text_too_long':
      return 'Not sent: the message is too long.';
    case 'reply_window_closed':
      return `Not sent: ${message || 'the 7-day reply window has closed; the person must message the Page first.'}`;
    default:
      return `Not sent: ${message}`;
  }
}

function safeLocalStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}
