import { describe, expect, it } from 'vitest';
import type { Session, SessionPage } from '../api/types';
import { makeMessage, makeSession, messageFrame } from '../testing/fakes';
import type { ServerFrame } from '../realtime/protocol';
import { initialState, reduce } from './reducer';
import type { InboxAction, InboxState } from './reducer';
import { chatLog, displayName, tabSessions, unreadCount } from './selectors';
import type { TabId } from './tabs';

const ME = 1;
const OTHER = 2;

function run(state: InboxState, ...actions: InboxAction[]): InboxState {
  return actions.reduce(reduce, state);
}
function frame(f: Record<string, unknown>): InboxAction {
  return { type: 'frame', frame: f as unknown as ServerFrame };
}
function sessionFrame(s: Session): InboxAction {
  return frame({ type: 'session', session: s });
}
function page(tab: TabId, items: Session[], next: string | null = null, mode: 'replace' | 'append' = 'replace', sinceTouch = 0): InboxAction {
  const p: SessionPage = { items, next_cursor: next };
  return { type: 'tabPage', tab, page: p, mode, sinceTouch };
}
function ids(state: InboxState, tab: TabId): number[] {
  return tabSessions(state, tab).map((s) => s.id);
}
const base = () => initialState({ userId: ME, dataScope: 'all' });

describe('tabs', () => {
  it('lists REST pages newest activity first', () => {
    const s = run(
      base(),
      page('all', [
        makeSession({ id: 1, last_message_at: '2026-11-24T10:00:00Z' }),
        makeSession({ id: 2, last_message_at: '2026-11-24T11:00:00Z' }),
        makeSession({ id: 3, last_message_at: '2026-11-24T11:00:00Z' }),
      ]),
    );
    expect(ids(s, 'all')).toEqual([3, 2, 1]);
    // A page of one tab does not fill the others: their own pages decide.
    expect(ids(s, 'unassigned')).toEqual([]);
  });

  it('adds a new session from a session frame to every tab it belongs to', () => {
    const s = run(base(), sessionFrame(makeSession({ id: 7 })));
    expect(ids(s, 'unassigned')).toEqual([7]);
    expect(ids(s, 'all')).toEqual([7]);
    expect(ids(s, 'mine')).toEqual([]);
    expect(ids(s, 'ended')).toEqual([]);
  });

  it('moves a row between tabs on status and assignee changes', () => {
    let s = run(base(), page('unassigned', [makeSession({ id: 7 })]));
    expect(ids(s, 'unassigned')).toEqual([7]);
    s = run(s, sessionFrame(makeSession({ id: 7, status: 'assigned', assignee_id: ME })));
    expect(ids(s, 'unassigned')).toEqual([]);
    expect(ids(s, 'mine')).toEqual([7]);
    expect(ids(s, 'all')).toEqual([7]);
    s = run(s, sessionFrame(makeSession({ id: 7, status: 'assigned', assignee_id: OTHER })));
    expect(ids(s, 'mine')).toEqual([]);
    expect(ids(s, 'all')).toEqual([7]);
    s = run(s, sessionFrame(makeSession({ id: 7, status: 'ended', assignee_id: OTHER, ended_at: '2026-11-24T12:00:00Z' })));
    expect(ids(s, 'all')).toEqual([]);
    expect(ids(s, 'ended')).toEqual([7]);
  });

  it('hides sessions that left an own-scope agent\u2019s scope', () => {
    const own = initialState({ userId: ME, dataScope: 'own' });
    let s = run(own, sessionFrame(makeSession({ id: 7, status: 'assigned', assignee_id: ME })));
    expect(ids(s, 'all')).toEqual([7]);
    s = run(s, sessionFrame(makeSession({ id: 7, status: 'assigned', assignee_id: OTHER })));
    expect(ids(s, 'all')).toEqual([]);
    expect(ids(s, 'mine')).toEqual([]);
  });

  it('takes the data scope from the socket hello', () => {
    let s = run(base(), sessionFrame(makeSession({ id: 7, status: 'assigned', assignee_id: OTHER })));
    expect(ids(s, 'all')).toEqual([7]);
    s = run(s, frame({ type: 'hello', user_id: ME, project_id: 1, data_scope: 'own' }));
    expect(ids(s, 'all')).toEqual([]);
  });

  it('moves a row to the top on a new message', () => {
    let s = run(
      base(),
      page('all', [makeSession({ id: 1, last_message_at: '2026-11-24T11:00:00Z' }), makeSession({ id: 2, last_message_at: '2026-11-24T10:00:00Z' })]),
    );
    expect(ids(s, 'all')).toEqual([1, 2]);
    s = run(s, frame(messageFrame(makeMessage({ session_id: 2, seq: 1, created_at: '2026-11-24T12:00:00Z' }))));
    expect(ids(s, 'all')).toEqual([2, 1]);
  });

  it('shows a session seen live in tabs whose page did not reach it', () => {
    // Session 2 is only known from the All page; a message makes it live news, so it also
    // shows in Unassigned.
    let s = run(base(), page('all', [makeSession({ id: 2 })]), page('unassigned', []));
    expect(ids(s, 'unassigned')).toEqual([]);
    s = run(s, frame(messageFrame(makeMessage({ session_id: 2, seq: 1 }))));
    expect(ids(s, 'unassigned')).toEqual([2]);
  });

  it('a refetch replaces the tab but keeps sessions that had news after the request', () => {
    let s = run(base(), page('mine', [makeSession({ id: 1, status: 'assigned', assignee_id: ME })]));
    const since = s.touchCounter;
    s = run(s, sessionFrame(makeSession({ id: 9, status: 'assigned', assignee_id: ME })));
    // The refetch was answered before session 9 existed and no longer lists session 1.
    s = run(s, page('mine', [makeSession({ id: 3, status: 'assigned', assignee_id: ME })], null, 'replace', since));
    expect(ids(s, 'mine').sort()).toEqual([3, 9]);
  });

  it('load more appends and dedupes by id', () => {
    let s = run(base(), page('ended', [makeSession({ id: 5, status: 'ended' })], 'cur'));
    expect(s.tabs.ended.nextCursor).toBe('cur');
    s = run(s, page('ended', [makeSession({ id: 5, status: 'ended' }), makeSession({ id: 4, status: 'ended' })], null, 'append'));
    expect(ids(s, 'ended')).toEqual([5, 4]);
    expect(s.tabs.ended.nextCursor).toBeNull();
  });
});

describe('session merging', () => {
  it('keeps newer counters when a stale REST row arrives', () => {
    let s = run(base(), sessionFrame(makeSession({ id: 1, last_seq: 5, visitor_message_count: 5, message_count: 5 })));
    s = run(s, page('all', [makeSession({ id: 1, last_seq: 3, visitor_message_count: 3, message_count: 3 })]));
    expect(s.sessions[1].last_seq).toBe(5);
    expect(s.sessions[1].visitor_message_count).toBe(5);
  });

  it('never reopens an ended session', () => {
    let s = run(base(), sessionFrame(makeSession({ id: 1, status: 'ended', ended_at: '2026-11-24T12:00:00Z' })));
    s = run(s, page('all', [makeSession({ id: 1, status: 'assigned', assignee_id: ME })]));
    expect(s.sessions[1].status).toBe('ended');
  });

  it('keeps counters and waits current from message frames, like the server', () => {
    let s = run(base(), sessionFrame(makeSession({ id: 1 })));
    s = run(s, frame(messageFrame(makeMessage({ session_id: 1, seq: 1, created_at: '2026-11-24T10:01:00Z' }))));
    expect(s.sessions[1]).toMatchObject({ last_seq: 1, message_count: 1, visitor_message_count: 1, awaiting_since: '2026-11-24T10:01:00Z' });
    s = run(s, frame(messageFrame(makeMessage({ session_id: 1, seq: 2, sender: 'agent', sender_user_id: OTHER }))));
    expect(s.sessions[1]).toMatchObject({ last_seq: 2, agent_message_count: 1, awaiting_since: null, status: 'assigned', assignee_id: OTHER });
    // A duplicate frame does not count twice.
    s = run(s, frame(messageFrame(makeMessage({ session_id: 1, seq: 2, sender: 'agent', sender_user_id: OTHER }))));
    expect(s.sessions[1].message_count).toBe(2);
  });
});

describe('messages', () => {
  const open = (s: InboxState, id: number) => run(s, { type: 'open', sessionId: id }, { type: 'logLoading', sessionId: id, older: false });

  it('dedupes by seq across pages and frames, in seq order', () => {
    let s = open(run(base(), sessionFrame(makeSession({ id: 1, last_seq: 3 }))), 1);
    // A frame arrives while the first page is loading: it is kept.
    s = run(s, frame(messageFrame(makeMessage({ session_id: 1, seq: 4 }))));
    s = run(s, {
      type: 'logPage',
      sessionId: 1,
      kind: 'latest',
      items: [1, 2, 3, 4].map((seq) => makeMessage({ session_id: 1, seq })),
    });
    s = run(s, frame(messageFrame(makeMessage({ session_id: 1, seq: 3 }))));
    s = run(s, { type: 'logPage', sessionId: 1, kind: 'after', items: [4, 5].map((seq) => makeMessage({ session_id: 1, seq })) });
    expect(chatLog(s, 1).messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(chatLog(s, 1).loaded).toBe(true);
  });

  it('prepends older pages', () => {
    let s = open(run(base(), sessionFrame(makeSession({ id: 1, last_seq: 60 }))), 1);
    s = run(s, { type: 'logPage', sessionId: 1, kind: 'latest', items: Array.from({ length: 50 }, (_, i) => makeMessage({ session_id: 1, seq: 11 + i })) });
    s = run(s, { type: 'logLoading', sessionId: 1, older: true });
    expect(chatLog(s, 1).loadingOlder).toBe(true);
    s = run(s, { type: 'logPage', sessionId: 1, kind: 'older', items: Array.from({ length: 10 }, (_, i) => makeMessage({ session_id: 1, seq: 1 + i })) });
    const seqs = chatLog(s, 1).messages.map((m) => m.seq);
    expect(seqs[0]).toBe(1);
    expect(seqs).toHaveLength(60);
    expect(chatLog(s, 1).loadingOlder).toBe(false);
  });

  it('shows a sent message as pending, then as committed on ack, without doubling on the echo', () => {
    let s = open(run(base(), sessionFrame(makeSession({ id: 1, last_seq: 1, visitor_message_count: 1, message_count: 1 }))), 1);
    s = run(s, { type: 'logPage', sessionId: 1, kind: 'latest', items: [makeMessage({ session_id: 1, seq: 1 })] });
    s = run(s, { type: 'pendingAdded', pending: { clientId: 'c1', sessionId: 1, text: 'Hi there', createdAt: '2026-11-24T10:02:00Z', state: 'sending', error: null } });
    expect(s.pending).toHaveLength(1);
    s = run(s, frame({ type: 'ack', client_id: 'c1', session_id: 1, seq: 2, message_id: 77, created_at: '2026-11-24T10:02:01Z' }));
    expect(s.pending).toHaveLength(0);
    expect(chatLog(s, 1).messages.map((m) => [m.seq, m.sender, m.text])).toEqual([
      [1, 'visitor', 'message 1'],
      [2, 'agent', 'Hi there'],
    ]);
    expect(s.sessions[1]).toMatchObject({ last_seq: 2, agent_message_count: 1, status: 'assigned', assignee_id: ME });
    s = run(s, frame(messageFrame(makeMessage({ session_id: 1, seq: 2, sender: 'agent', sender_user_id: ME, client_id: 'c1', text: 'Hi there' }))));
    expect(chatLog(s, 1).messages).toHaveLength(2);
    expect(s.sessions[1].message_count).toBe(2);
  });

  it('drops a pending message when its echo (or a resume replay) arrives before the ack', () => {
    let s = open(run(base(), sessionFrame(makeSession({ id: 1 }))), 1);
    s = run(s, { type: 'pendingAdded', pending: { clientId: 'c1', sessionId: 1, text: 'x', createdAt: '2026-11-24T10:02:00Z', state: 'sending', error: null } });
    s = run(s, frame(messageFrame(makeMessage({ session_id: 1, seq: 1, sender: 'agent', sender_user_id: ME, client_id: 'c1', text: 'x' }))));
    expect(s.pending).toHaveLength(0);
    s = run(s, frame({ type: 'ack', client_id: 'c1', session_id: 1, seq: 1, message_id: 5, created_at: '2026-11-24T10:02:01Z' }));
    expect(chatLog(s, 1).messages).toHaveLength(1);
  });

  it('marks a refused message as failed, and sending again as pending', () => {
    let s = run(base(), { type: 'pendingAdded', pending: { clientId: 'c1', sessionId: 1, text: 'x', createdAt: '', state: 'sending', error: null } });
    s = run(s, { type: 'sendRejected', clientId: 'c1', error: 'ended' });
    expect(s.pending[0]).toMatchObject({ state: 'failed', error: 'ended' });
    s = run(s, { type: 'pendingRetried', clientId: 'c1' });
    expect(s.pending[0]).toMatchObject({ state: 'sending', error: null });
    s = run(s, { type: 'pendingDiscarded', clientId: 'c1' });
    expect(s.pending).toHaveLength(0);
  });
});

describe('unread', () => {
  it('counts visitor messages since the chat was last open', () => {
    let s = run(base(), sessionFrame(makeSession({ id: 1 })));
    s = run(s, frame(messageFrame(makeMessage({ session_id: 1, seq: 1 }))), frame(messageFrame(makeMessage({ session_id: 1, seq: 2 }))));
    expect(unreadCount(s, 1)).toBe(2);
    s = run(s, { type: 'open', sessionId: 1 });
    expect(unreadCount(s, 1)).toBe(0);
    expect(s.seen[1]).toBe(2);
    // While open, new visitor messages are read at once.
    s = run(s, frame(messageFrame(makeMessage({ session_id: 1, seq: 3 }))));
    expect(unreadCount(s, 1)).toBe(0);
    s = run(s, { type: 'open', sessionId: null });
    s = run(s, frame(messageFrame(makeMessage({ session_id: 1, seq: 4 }))));
    // Agent messages are never unread.
    s = run(s, frame(messageFrame(makeMessage({ session_id: 1, seq: 5, sender: 'agent', sender_user_id: OTHER }))));
    expect(unreadCount(s, 1)).toBe(1);
  });

  it('starts from the seen counts it was given (localStorage)', () => {
    const s = run(initialState({ userId: ME, dataScope: 'all' }, { 1: 3 }), sessionFrame(makeSession({ id: 1, visitor_message_count: 5 })));
    expect(unreadCount(s, 1)).toBe(2);
  });
});

describe('typing', () => {
  it('shows visitor typing until off, a visitor message, expiry or a disconnect', () => {
    const on = frame({ type: 'typing', session_id: 1, from: 'visitor', user_id: null, on: true });
    let s = run(base(), on);
    expect(s.visitorTyping[1]).toBe(true);
    s = run(s, frame({ type: 'typing', session_id: 1, from: 'visitor', user_id: null, on: false }));
    expect(s.visitorTyping[1]).toBeUndefined();
    s = run(s, on, frame(messageFrame(makeMessage({ session_id: 1, seq: 1 }))));
    expect(s.visitorTyping[1]).toBeUndefined();
    s = run(s, on, { type: 'typingExpired', sessionId: 1 });
    expect(s.visitorTyping[1]).toBeUndefined();
    s = run(s, on, { type: 'connection', status: 'reconnecting' });
    expect(s.visitorTyping[1]).toBeUndefined();
  });

  it('ignores other agents typing', () => {
    const s = run(base(), frame({ type: 'typing', session_id: 1, from: 'agent', user_id: OTHER, on: true }));
    expect(s.visitorTyping[1]).toBeUndefined();
  });
});

describe('displayName', () => {
  it('prefers the note name', () => {
    expect(displayName({ contact_name: 'visitor-12', note_name: 'Ada (ACME)' })).toBe('Ada (ACME)');
    expect(displayName({ contact_name: 'visitor-12', note_name: '  ' })).toBe('visitor-12');
    expect(displayName({ contact_name: 'visitor-12', note_name: null })).toBe('visitor-12');
  });
});
