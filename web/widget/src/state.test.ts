import { describe, it, expect } from 'vitest';
import { Chat, RESUME_REF, asking, buttonStates, buttonsOf } from './state';
import type { ServerFrame } from './protocol';

const hello = (session_id: number | null, token = 'tok'): ServerFrame => ({ type: 'hello', visitor_token: token, contact_id: 1, session_id, last_seq: 0 });
const msg = (seq: number, sender: 'visitor' | 'agent' | 'bot' | 'system' = 'agent', extra: object = {}, session_id = 7): ServerFrame =>
  ({ type: 'message', session_id, seq, sender, text: `m${seq}`, ...extra }) as ServerFrame;
const ack = (client_id: string, seq: number, session_id = 7): ServerFrame =>
  ({ type: 'ack', client_id, session_id, seq, message_id: 100 + seq, created_at: '2026-01-02T03:04:05Z' });
const typing = (from: 'visitor' | 'agent', on: boolean, session_id = 7): ServerFrame =>
  ({ type: 'typing', session_id, from, user_id: from === 'agent' ? 3 : null, on });
const error = (code: string, ref: string): ServerFrame => ({ type: 'error', code, message: code, ref });
const session = (id: number, status: 'unassigned' | 'assigned' | 'ended'): ServerFrame =>
  ({ type: 'session', session: { id, status, created_at: '2026-01-02T03:00:00Z', ended_at: status === 'ended' ? '2026-01-02T04:00:00Z' : null } });
const seqs = (c: Chat) => c.messages.map((m) => m.seq);

describe('frames', () => {
  it('hello with an open session asks to resume after 0 on a fresh load', () => {
    const c = new Chat();
    expect(c.apply(hello(7))).toEqual({ resume: 0 });
    expect(c.token).toBe('tok');
    expect(c.sessionId).toBe(7);
  });

  it('hello without a session asks for nothing', () => {
    expect(new Chat().apply(hello(null))).toEqual({});
  });

  it('shows messages in seq order and ignores duplicates', () => {
    const c = new Chat();
    c.apply(hello(7));
    for (const s of [1, 2, 3, 2, 1, 3]) c.apply(msg(s));
    expect(seqs(c)).toEqual([1, 2, 3]);
    expect(c.contig).toBe(3);
  });

  it('resumes after the last seq without a gap, not the highest seen', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.apply(msg(1));
    c.queue('a', 'mine');
    c.toSend();
    c.apply(ack('a', 3)); // seq 2 (an agent message) has not reached us yet
    expect(c.contig).toBe(1);
    // Reconnect: resume after 1, the server sends 2 and 3 again; 3 is ours and already shown.
    expect(c.apply(hello(7))).toEqual({ resume: 1 });
    c.apply(msg(2));
    c.apply(msg(3, 'visitor', { client_id: 'a', text: 'mine' }));
    expect(seqs(c)).toEqual([1, 2, 3]);
    expect(c.messages.map((m) => m.text)).toEqual(['m1', 'm2', 'mine']);
    expect(c.contig).toBe(3);
  });

  it('a later reconnect resumes after what was shown', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.apply(msg(1));
    c.apply(msg(2));
    expect(c.apply(hello(7))).toEqual({ resume: 2 });
  });

  it('ignores frames of an older session', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.apply(msg(1, 'agent', {}, 6));
    expect(c.messages).toEqual([]);
  });

  it('agent typing shows until off or until the agent message arrives', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.apply(typing('agent', true));
    expect(c.agentTyping).toBe(true);
    c.apply(typing('visitor', false));
    expect(c.agentTyping).toBe(true);
    c.apply(msg(1));
    expect(c.agentTyping).toBe(false);
    c.apply(typing('agent', true));
    c.apply(typing('agent', false));
    expect(c.agentTyping).toBe(false);
  });

  it('a new visitor token clears the old identity but keeps unsent messages', () => {
    const c = new Chat({ token: 'old' });
    c.apply(hello(7, 'old'));
    c.apply(msg(1));
    c.queue('q', 'unsent');
    expect(c.apply(hello(null, 'new'))).toEqual({});
    expect(c.token).toBe('new');
    expect(c.messages.map((m) => m.text)).toEqual(['unsent']);
    expect(c.sessionId).toBe(null);
  });

  it('a resume the server could not read asks for a reconnect', () => {
    const c = new Chat();
    c.apply(hello(7));
    expect(c.apply(error('db_unavailable', RESUME_REF))).toEqual({ reconnect: true });
  });
});

describe('outbox', () => {
  it('queued messages are pending, sent once per connection, dropped on ack', () => {
    const c = new Chat();
    c.queue('a', 'one');
    c.queue('b', 'two');
    expect(c.messages.map((m) => [m.pending, m.seq])).toEqual([[true, null], [true, null]]);
    // Offline: nothing was sent. Connected:
    c.apply(hello(7));
    expect(c.toSend().map((o) => o.id)).toEqual(['a', 'b']);
    expect(c.toSend()).toEqual([]); // not twice on the same connection
    c.apply(ack('a', 1));
    expect(c.outbox.map((o) => o.id)).toEqual(['b']);
    // The socket dropped before b's ack: the next connection sends b again, and only b.
    c.apply(hello(7));
    expect(c.toSend().map((o) => o.id)).toEqual(['b']);
    c.apply(ack('b', 2));
    expect(c.outbox).toEqual([]);
    expect(c.messages.map((m) => [m.text, m.seq, m.pending])).toEqual([['one', 1, false], ['two', 2, false]]);
  });

  it('a repeated ack or the echoed message does not duplicate', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.queue('a', 'one');
    c.toSend();
    c.apply(msg(1, 'visitor', { client_id: 'a', text: 'one' })); // the echo can beat the ack
    expect(c.outbox).toEqual([]);
    c.apply(ack('a', 1));
    c.apply(ack('a', 1));
    expect(c.messages).toHaveLength(1);
    expect(c.messages[0]).toMatchObject({ seq: 1, pending: false, key: 'ca' });
  });

  it('is restored from storage as pending messages', () => {
    const c = new Chat({ outbox: [{ id: 'x', text: 'typed offline' }] });
    expect(c.messages[0]).toMatchObject({ text: 'typed offline', pending: true, clientId: 'x' });
    c.apply(hello(null));
    expect(c.toSend()).toEqual([{ id: 'x', text: 'typed offline' }]);
  });

  it('db_unavailable makes the message go out again; a hard refusal marks it failed', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.queue('a', 'one');
    c.queue('b', 'x'.repeat(9000));
    c.toSend();
    expect(c.apply(error('db_unavailable', 'a'))).toEqual({ retryLater: true });
    expect(c.toSend().map((o) => o.id)).toEqual(['a']);
    expect(c.apply(error('text_too_long', 'b'))).toEqual({});
    expect(c.outbox.map((o) => o.id)).toEqual(['a']);
    expect(c.messages[1]).toMatchObject({ pending: false, failed: true });
  });

  it('rate_limited (too many sends waiting for acks) makes the message go out again', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.queue('a', 'one');
    c.toSend();
    expect(c.apply(error('rate_limited', 'a'))).toEqual({ retryLater: true });
    expect(c.toSend().map((o) => o.id)).toEqual(['a']);
  });

  it('committed messages go before pending ones, in seq order', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.queue('a', 'mine');
    c.apply(msg(1));
    expect(c.messages.map((m) => m.text)).toEqual(['m1', 'mine']);
    c.apply(ack('a', 3));
    c.apply(msg(2));
    expect(c.messages.map((m) => m.text)).toEqual(['m1', 'm2', 'mine']);
  });
});

describe('session switch', () => {
  it('a session frame with a new id restarts the seq bookkeeping', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.apply(msg(1));
    c.apply(msg(2));
    c.apply(session(7, 'ended'));
    expect(c.ended).toBe(true);
    c.queue('a', 'again');
    c.toSend();
    c.apply(session(9, 'unassigned'));
    expect(c.sessionId).toBe(9);
    expect(c.ended).toBe(false);
    expect(c.contig).toBe(0);
    c.apply(ack('a', 1, 9));
    c.apply(msg(1, 'visitor', { client_id: 'a' }, 9)); // seq 1 again, but of session 9
    c.apply(msg(2, 'agent', {}, 9));
    expect(c.messages.map((m) => `${m.sessionId}:${m.seq}`)).toEqual(['7:1', '7:2', '9:1', '9:2']);
    expect(c.apply(hello(9))).toEqual({ resume: 2 });
  });

  it('an ack naming a new session switches even without its session frame', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.apply(msg(1));
    c.queue('a', 'again');
    c.toSend();
    c.apply(ack('a', 1, 8));
    expect(c.sessionId).toBe(8);
    expect(c.contig).toBe(1);
    c.apply(msg(1, 'visitor', { client_id: 'a' }, 8));
    expect(c.messages).toHaveLength(2);
  });

  it('the first send of a new visitor opens the session', () => {
    const c = new Chat();
    c.apply(hello(null));
    c.queue('a', 'hi');
    c.toSend();
    c.apply(session(3, 'unassigned'));
    c.apply(ack('a', 1, 3));
    expect(c.sessionId).toBe(3);
    expect(c.messages[0]).toMatchObject({ seq: 1, sessionId: 3, pending: false });
  });

  it('hello without a session after ours ended keeps the conversation on screen', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.apply(msg(1));
    c.apply(hello(null));
    expect(c.ended).toBe(true);
    expect(c.messages).toHaveLength(1);
  });
});

describe('unread', () => {
  it('counts agent and bot messages received while the panel is closed', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.apply(msg(1, 'visitor'));
    c.apply(msg(2, 'agent'));
    c.apply(msg(3, 'system'));
    c.apply(msg(4, 'bot'));
    expect(c.unread).toBe(2);
    c.setOpen(true);
    expect(c.unread).toBe(0);
    c.apply(msg(5, 'agent')); // seen as it arrives
    c.setOpen(false);
    expect(c.unread).toBe(0);
    c.apply(msg(6, 'agent'));
    expect(c.unread).toBe(1);
  });

  it('survives a reload through the persisted read position', () => {
    const c = new Chat({ seen: { s: 7, q: 2 } });
    c.apply(hello(7));
    for (const s of [1, 2, 3]) c.apply(msg(s));
    expect(c.unread).toBe(1);
  });

  it('starts over in a new session', () => {
    const c = new Chat({ seen: { s: 7, q: 5 } });
    c.apply(hello(8));
    c.apply(msg(1, 'agent', {}, 8));
    expect(c.unread).toBe(1);
  });
});

describe('bot buttons and questions', () => {
  const bot = (seq: number, content: object) => msg(seq, 'bot', { message_id: 500 + seq, content });

  it('a bot message keeps its id and content; its buttons are live until the visitor writes', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.apply(bot(1, { buttons: [{ id: 'a', title: 'A' }, { id: 'b', title: 'B' }, { id: 3 }] }));
    const m = c.messages[0];
    expect(m.messageId).toBe(501);
    expect(buttonsOf(m)).toEqual([{ id: 'a', title: 'A' }, { id: 'b', title: 'B' }]);
    expect(buttonStates(c.messages).get(m)).toEqual({ live: true, chosen: undefined });
    c.queue('x', 'typed instead');
    expect(buttonStates(c.messages).get(m)).toEqual({ live: false, chosen: undefined });
  });

  it('a click marks its button chosen, pending or committed', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.apply(bot(1, { buttons: [{ id: 'a', title: 'A' }] }));
    c.queue('x', 'A', { message_id: 501, id: 'a' });
    expect(c.toSend()).toEqual([{ id: 'x', text: 'A', button: { message_id: 501, id: 'a' } }]);
    expect(buttonStates(c.messages).get(c.messages[0])).toEqual({ live: false, chosen: 'a' });
    c.apply(ack('x', 2));
    expect(buttonStates(c.messages).get(c.messages[0])).toEqual({ live: false, chosen: 'a' });
  });

  it('buttons of agent messages are not buttons', () => {
    const c = new Chat();
    c.apply(hello(7));
    c.apply(msg(1, 'agent', { content: { buttons: [{ id: 'a', title: 'A' }] } }));
    expect(buttonsOf(c.messages[0])).toEqual([]);
  });

  it('the newest question tells what it asks for, until answered', () => {
    const c = new Chat();
    c.apply(hello(7));
    expect(asking(c.messages)).toBeNull();
    c.apply(bot(1, { ask: 'email' }));
    expect(asking(c.messages)).toBe('email');
    c.queue('x', 'me@example.com');
    expect(asking(c.messages)).toBeNull();
  });
});
