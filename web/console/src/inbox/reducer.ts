// The inbox state and the one function that changes it. Everything the console shows about
// sessions and messages is derived from this state; REST pages and socket frames are both
// just actions, so the order in which they arrive never matters (dedupe by seq, counters
// only move forward).
import type { ChannelKind, ReplyWindow } from '../api/channels';
import type { DataScope, Delivery, Message, Session, SessionPage } from '../api/types';
import { initialCustomer, reduceCustomer, sessionsWithContact } from '../contacts/customerState';
import type { CustomerAction, CustomerState } from '../contacts/customerState';
import type { ConnectionStatus } from '../realtime/agentSocket';
import type { ServerFrame } from '../realtime/protocol';
import { emptyLog, hasSeq, mergeMessages } from './chatLog';
import type { ChatLog } from './chatLog';
import { belongsTo, TAB_IDS } from './tabs';
import type { TabId, Viewer } from './tabs';

export interface TabList {
  /** Sessions this tab may show: from its REST pages plus every session seen live. */
  ids: readonly number[];
  nextCursor: string | null;
  loaded: boolean;
  loading: boolean;
  error: string | null;
}

export interface PendingMessage {
  clientId: string;
  sessionId: number;
  text: string;
  createdAt: string;
  /** `failed`: the server refused it for good (e.g. the session ended). */
  state: 'sending' | 'failed';
  error: string | null;
  /** The Messenger message tag picked for it (past the 7-day window). */
  tag?: string;
}

/** A Messenger session's reply window as last read from the server. */
export interface ReplyWindowEntry {
  window: ReplyWindow | null;
  loading: boolean;
  error: string | null;
}

export interface InboxState {
  viewer: Viewer;
  sessions: Readonly<Record<number, Session>>;
  tabs: Readonly<Record<TabId, TabList>>;
  /**
   * Per session, the value of `touchCounter` when live news (a frame) last arrived. A tab
   * refetch keeps sessions touched after the request was made, which its page cannot know.
   */
  liveTouch: Readonly<Record<number, number>>;
  touchCounter: number;
  logs: Readonly<Record<number, ChatLog>>;
  /** Messages sent and not yet acknowledged, in send order. */
  pending: readonly PendingMessage[];
  visitorTyping: Readonly<Record<number, true>>;
  /** Per session, how many visitor messages the agent has seen (had the chat open). */
  seen: Readonly<Record<number, number>>;
  openSessionId: number | null;
  connection: ConnectionStatus;
  /** Contacts, session tags, chat-list preferences (contacts/customerState.ts). */
  customer: CustomerState;
  /** Each channel's kind (web, messenger), from GET …/channels; a session names its channel. */
  channelKinds: Readonly<Record<number, ChannelKind>>;
  replyWindows: Readonly<Record<number, ReplyWindowEntry>>;
}

export type InboxAction =
  | { type: 'viewer'; userId: number; dataScope: DataScope }
  | { type: 'connection'; status: ConnectionStatus }
  | { type: 'tabLoading'; tab: TabId }
  | { type: 'tabFailed'; tab: TabId; error: string }
  /** `replace`: a refetch of the first page; `append`: "load more". */
  | { type: 'tabPage'; tab: TabId; page: SessionPage; mode: 'replace' | 'append'; sinceTouch: number }
  /** A session read by REST on purpose (opened, or the answer of take/assign/end): fresh news. */
  | { type: 'sessionFetched'; session: Session }
  | { type: 'frame'; frame: ServerFrame }
  | { type: 'open'; sessionId: number | null }
  | { type: 'logLoading'; sessionId: number; older: boolean }
  | { type: 'logFailed'; sessionId: number; error: string }
  | { type: 'logPage'; sessionId: number; items: readonly Message[]; kind: 'latest' | 'older' | 'after' }
  | { type: 'pendingAdded'; pending: PendingMessage }
  | { type: 'sendRejected'; clientId: string; error: string }
  | { type: 'pendingRetried'; clientId: string }
  | { type: 'pendingDiscarded'; clientId: string }
  | { type: 'typingExpired'; sessionId: number }
  | { type: 'customer'; action: CustomerAction }
  | { type: 'channelKinds'; channels: readonly { id: number; kind: ChannelKind }[] }
  | { type: 'replyWindowLoading'; sessionId: number }
  | { type: 'replyWindow'; sessionId: number; window: ReplyWindow }
  | { type: 'replyWindowFailed'; sessionId: number; error: string }
  /** A message read again (the answer of a retry): replaces the one with its seq. */
  | { type: 'messageUpdated'; message: Message };

const emptyTab: TabList = { ids: [], nextCursor: null, loaded: false, loading: false, error: null };

export function initialState(viewer: Viewer, seen: Record<number, number> = {}): InboxState {
  return {
    viewer,
    sessions: {},
    tabs: { unassigned: emptyTab, mine: emptyTab, all: emptyTab, ended: emptyTab },
    liveTouch: {},
    touchCounter: 0,
    logs: {},
    pending: [],
    visitorTyping: {},
    seen,
    openSessionId: null,
    connection: 'connecting',
    customer: initialCustomer(),
    channelKinds: {},
    replyWindows: {},
  };
}

export function reduce(state: InboxState, action: InboxAction): InboxState {
  return markOpenChatSeen(apply(state, action));
}

function apply(state: InboxState, action: InboxAction): InboxState {
  switch (action.type) {
    case 'viewer':
      return { ...state, viewer: { userId: action.userId, dataScope: action.dataScope } };
    case 'connection':
      // While down nobody can tell us a typing indicator went off; don't show stale ones.
      return { ...state, connection: action.status, visitorTyping: action.status === 'open' ? state.visitorTyping : {} };
    case 'tabLoading':
      return setTab(state, action.tab, { loading: true, error: null });
    case 'tabFailed':
      return setTab(state, action.tab, { loading: false, error: action.error });
    case 'tabPage':
      return applyTabPage(state, action.tab, action.page, action.mode, action.sinceTouch);
    case 'sessionFetched':
      return touch(upsertSession(state, action.session), action.session.id);
    case 'frame':
      return applyFrame(state, action.frame);
    case 'open':
      return { ...state, openSessionId: action.sessionId };
    case 'logLoading': {
      const log = state.logs[action.sessionId] ?? emptyLog;
      const next = action.older ? { ...log, loadingOlder: true, error: null } : { ...log, loading: true, error: null };
      return setLog(state, action.sessionId, next);
    }
    case 'logFailed': {
      const log = state.logs[action.sessionId] ?? emptyLog;
      return setLog(state, action.sessionId, { ...log, loading: false, loadingOlder: false, error: action.error });
    }
    case 'logPage': {
      const log = state.logs[action.sessionId] ?? emptyLog;
      const messages = mergeMessages(log.messages, action.items);
      const next: ChatLog = {
        ...log,
        messages,
        loaded: log.loaded || action.kind === 'latest',
        loading: action.kind === 'latest' ? false : log.loading,
        loadingOlder: action.kind === 'older' ? false : log.loadingOlder,
        error: null,
      };
      // Messages we sent may come back in a page before their ack did.
      return dropPendingFor(setLog(state, action.sessionId, next), action.items);
    }
    case 'pendingAdded':
      return { ...state, pending: [...state.pending, action.pending] };
    case 'sendRejected':
      return mapPending(state, action.clientId, (p) => ({ ...p, state: 'failed', error: action.error }));
    case 'pendingRetried':
      return mapPending(state, action.clientId, (p) => ({ ...p, state: 'sending', error: null }));
    case 'pendingDiscarded':
      if (!state.pending.some((p) => p.clientId === action.clientId)) return state;
      return { ...state, pending: state.pending.filter((p) => p.clientId !== action.clientId) };
    case 'typingExpired':
      return withoutTyping(state, action.sessionId);
    case 'customer':
      return applyCustomer(state, action.action);
    case 'channelKinds': {
      const kinds: Record<number, ChannelKind> = { ...state.channelKinds };
      for (const c of action.channels) kinds[c.id] = c.kind;
      return { ...state, channelKinds: kinds };
    }
    case 'replyWindowLoading': {
      const cur = state.replyWindows[action.sessionId];
      return setWindow(state, action.sessionId, { window: cur?.window ?? null, loading: true, error: null });
    }
    case 'replyWindow':
      return setWindow(state, action.sessionId, { window: action.window, loading: false, error: null });
    case 'replyWindowFailed': {
      const cur = state.replyWindows[action.sessionId];
      return setWindow(state, action.sessionId, { window: cur?.window ?? null, loading: false, error: action.error });
    }
    case 'messageUpdated':
      return replaceMessage(state, action.message.session_id, (m) => m.seq === action.message.seq, () => action.message);
  }
}

function setWindow(state: InboxState, sessionId: number, entry: ReplyWindowEntry): InboxState {
  return { ...state, replyWindows: { ...state.replyWindows, [sessionId]: entry } };
}

/** Replaces one loaded message of a session's log; unchanged when it is not loaded. */
function replaceMessage(state: InboxState, sessionId: number, match: (m: Message) => boolean, f: (m: Message) => Message): InboxState {
  const log = state.logs[sessionId];
  if (!log) return state;
  const i = log.messages.findIndex(match);
  if (i < 0) return state;
  const messages = log.messages.slice();
  messages[i] = f(messages[i]);
  return setLog(state, sessionId, { ...log, messages });
}

/** A `message_status` frame: the platform send of one message moved on. */
function applyDelivery(state: InboxState, sessionId: number, messageId: number, delivery: Delivery): InboxState {
  return replaceMessage(state, sessionId, (m) => m.message_id === messageId, (m) => ({ ...m, delivery }));
}

/** Customer info; a newer contact also renames its sessions (chat list, header). */
function applyCustomer(state: InboxState, action: CustomerAction): InboxState {
  const customer = reduceCustomer(state.customer, action);
  if (customer === state.customer) return state;
  const sessions = action.type === 'contact' ? sessionsWithContact(state.sessions, customer.contacts[action.contact.id]) : state.sessions;
  return { ...state, customer, sessions };
}

function applyFrame(state: InboxState, frame: ServerFrame): InboxState {
  switch (frame.type) {
    case 'hello':
      return apply(state, { type: 'viewer', userId: frame.user_id, dataScope: frame.data_scope });
    case 'session':
      return touch(upsertSession(state, frame.session), frame.session.id);
    case 'message': {
      const { type: _type, ...message } = frame;
      return applyMessage(state, message);
    }
    case 'ack': {
      // The ack is the commit; show the message as sent at once, with its seq. The `message`
      // frame that follows carries the same seq and is dropped as a duplicate.
      const p = state.pending.find((x) => x.clientId === frame.client_id);
      if (!p) return state;
      return applyMessage(state, {
        session_id: frame.session_id,
        seq: frame.seq,
        message_id: frame.message_id,
        sender: 'agent',
        sender_user_id: state.viewer.userId,
        client_id: frame.client_id,
        text: p.text,
        off_platform: false,
        content: {},
        delivery: null,
        created_at: frame.created_at,
      });
    }
    case 'typing':
      if (frame.from !== 'visitor') return state;
      if (!frame.on) return withoutTyping(state, frame.session_id);
      if (state.visitorTyping[frame.session_id]) return state;
      return { ...state, visitorTyping: { ...state.visitorTyping, [frame.session_id]: true } };
    case 'contact':
      return applyCustomer(state, { type: 'contact', contact: frame.contact });
    case 'session_tags':
      return applyCustomer(state, { type: 'sessionTags', sessionId: frame.session_id, tags: frame.tags });
    case 'message_status':
      return applyDelivery(state, frame.session_id, frame.message_id, frame.delivery);
    case 'job':
    case 'flow_stats':
    case 'ok':
    case 'error':
    case 'pong':
      return state;
  }
}

/** A committed message (frame, ack or page): counters, log, typing, pending, tab order. */
function applyMessage(state: InboxState, m: Message): InboxState {
  let next = state;
  const s = state.sessions[m.session_id];
  // A seq at or below last_seq is already counted (the session's counters came from the
  // database after it); only newer ones move the counters, exactly as the server does.
  if (s && m.seq > s.last_seq) {
    next = { ...next, sessions: { ...next.sessions, [s.id]: countMessage(s, m) } };
  }
  const log = next.logs[m.session_id];
  if (log && !hasSeq(log.messages, m.seq)) {
    next = setLog(next, m.session_id, { ...log, messages: mergeMessages(log.messages, [m]) });
  } else if (log && m.delivery) {
    // The ack showed our message before its `message` frame, which is the first to carry the
    // platform delivery; keep a delivery already moved on by a `message_status`.
    next = replaceMessage(next, m.session_id, (x) => x.seq === m.seq && x.delivery === null, (x) => ({ ...x, delivery: m.delivery, content: m.content }));
  }
  if (m.sender === 'visitor') next = withoutTyping(next, m.session_id);
  next = dropPendingFor(next, [m]);
  return touch(next, m.session_id);
}

/** Mirrors the server's counter rules (domain/conversation.rs, message_changes). */
export function countMessage(s: Session, m: Message): Session {
  const out: Session = { ...s, last_seq: m.seq, last_message_at: m.created_at };
  if (m.sender !== 'system') out.message_count = s.message_count + 1;
  if (m.sender === 'visitor') {
    out.visitor_message_count = s.visitor_message_count + 1;
    if (!s.bot_hosted && s.awaiting_since === null) out.awaiting_since = m.created_at;
  } else if (m.sender === 'agent') {
    out.agent_message_count = s.agent_message_count + 1;
    out.awaiting_since = null;
    if (s.first_response_at === null && s.visitor_message_count > 0) out.first_response_at = m.created_at;
    if (s.status === 'unassigned') {
      out.status = 'assigned';
      out.assignee_id = m.sender_user_id;
    }
  }
  return out;
}

/**
 * Merges a session read from anywhere. Sources can be staler than what we hold (a REST page
 * served just before a frame), so counters never move backwards and an ended session never
 * reopens (the server opens a new session instead).
 */
function upsertSession(state: InboxState, incoming: Session): InboxState {
  const cur = state.sessions[incoming.id];
  let merged = incoming;
  if (cur) {
    if (incoming.last_seq < cur.last_seq) {
      merged = {
        ...merged,
        last_seq: cur.last_seq,
        last_message_at: cur.last_message_at,
        message_count: cur.message_count,
        visitor_message_count: cur.visitor_message_count,
        agent_message_count: cur.agent_message_count,
        awaiting_since: cur.awaiting_since,
      };
    }
    if (cur.status === 'ended' && merged.status !== 'ended') {
      merged = { ...merged, status: 'ended', ended_at: cur.ended_at, assignee_id: cur.assignee_id, awaiting_since: null };
    }
  }
  return { ...state, sessions: { ...state.sessions, [incoming.id]: merged } };
}

/** Records live news for a session and puts it in every tab it now belongs to. */
function touch(state: InboxState, sessionId: number): InboxState {
  const counter = state.touchCounter + 1;
  const s = state.sessions[sessionId];
  let tabs = state.tabs;
  if (s) {
    for (const tab of TAB_IDS) {
      if (belongsTo(tab, s, state.viewer) && !tabs[tab].ids.includes(sessionId)) {
        tabs = { ...tabs, [tab]: { ...tabs[tab], ids: [...tabs[tab].ids, sessionId] } };
      }
    }
  }
  return { ...state, tabs, touchCounter: counter, liveTouch: { ...state.liveTouch, [sessionId]: counter } };
}

function applyTabPage(state: InboxState, tab: TabId, page: SessionPage, mode: 'replace' | 'append', sinceTouch: number): InboxState {
  let next = state;
  for (const s of page.items) next = upsertSession(next, s);
  const cur = next.tabs[tab];
  const ids = new Set<number>(page.items.map((s) => s.id));
  if (mode === 'append') {
    for (const id of cur.ids) ids.add(id);
  } else {
    // A refetch replaces the tab, except for sessions that had live news after the request
    // left: the page may predate them.
    for (const id of cur.ids) if ((next.liveTouch[id] ?? 0) > sinceTouch) ids.add(id);
  }
  return setTab(next, tab, { ids: [...ids], nextCursor: page.next_cursor, loaded: true, loading: false, error: null });
}

/** While a chat is open, every visitor message in it counts as seen. */
function markOpenChatSeen(state: InboxState): InboxState {
  const id = state.openSessionId;
  if (id === null) return state;
  const s = state.sessions[id];
  if (!s) return state;
  if ((state.seen[id] ?? -1) === s.visitor_message_count) return state;
  return { ...state, seen: { ...state.seen, [id]: s.visitor_message_count } };
}

function setTab(state: InboxState, tab: TabId, patch: Partial<TabList>): InboxState {
  return { ...state, tabs: { ...state.tabs, [tab]: { ...state.tabs[tab], ...patch } } };
}

function setLog(state: InboxState, sessionId: number, log: ChatLog): InboxState {
  return { ...state, logs: { ...state.logs, [sessionId]: log } };
}

function withoutTyping(state: InboxState, sessionId: number): InboxState {
  if (!state.visitorTyping[sessionId]) return state;
  const { [sessionId]: _gone, ...rest } = state.visitorTyping;
  return { ...state, visitorTyping: rest };
}

function dropPendingFor(state: InboxState, messages: readonly Message[]): InboxState {
  const ids = new Set(messages.map((m) => m.client_id).filter((c): c is string => !!c));
  if (ids.size === 0 || !state.pending.some((p) => ids.has(p.clientId))) return state;
  return { ...state, pending: state.pending.filter((p) => !ids.has(p.clientId)) };
}

function mapPending(state: InboxState, clientId: string, f: (p: PendingMessage) => PendingMessage): InboxState {
  if (!state.pending.some((p) => p.clientId === clientId)) return state;
  return { ...state, pending: state.pending.map((p) => (p.clientId === clientId ? f(p) : p)) };
}
