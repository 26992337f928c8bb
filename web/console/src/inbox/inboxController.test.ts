import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/http';
import type { Message } from '../api/types';
import { FakeApi, MemoryStorage } from '../testing/fakeApi';
import { FakeWebSocket, makeMessage, makeSession, messageFrame } from '../testing/fakes';
import { InboxController } from './inboxController';
import { chatLog, tabSessions, unreadCount } from './selectors';

const flush = () => vi.advanceTimersByTimeAsync(0);

function visitorMsgs(sid: number, n: number): Message[] {
  return Array.from({ length: n }, (_, i) => makeMessage({ session_id: sid, seq: i + 1 }));
}

function setup(opts: { storage?: Storage } = {}) {
  const api = new FakeApi();
  const storage = opts.storage ?? new MemoryStorage();
  let ids = 0;
  const unauth = vi.fn();
  const controller = new InboxController({
    api,
    projectId: 1,
    viewer: { userId: 1, dataScope: 'all' },
    storage,
    socketUrl: 'ws://test/ws/agent?project=1',
    socketOptions: { createSocket: (url) => new FakeWebSocket(url), random: () => 0.5 },
    newClientId: () => `cid-${++ids}`,
    onUnauthenticated: unauth,
  });
  return { api, controller, storage, unauth };
}

beforeEach(() => {
  FakeWebSocket.reset();
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('InboxController', () => {
  it('loads the tabs, and loads them again once the socket is up', async () => {
    const { api, controller } = setup();
    api.put(makeSession({ id: 1 }));
    controller.start();
    await flush();
    expect(api.calls).toEqual(['sessions unassigned limit=50', 'sessions assigned me limit=50', 'sessions open limit=50']);
    expect(tabSessions(controller.getState(), 'unassigned').map((s) => s.id)).toEqual([1]);
    FakeWebSocket.last.accept();
    await flush();
    expect(api.calls.slice(3)).toEqual(['sessions unassigned limit=50', 'sessions assigned me limit=50', 'sessions open limit=50']);
    expect(controller.getState().connection).toBe('open');
  });

  it('opens a chat with the latest 50 messages (before_seq = last_seq + 1) and watches it for resume', async () => {
    const { api, controller } = setup();
    api.put(makeSession({ id: 4, last_seq: 120, visitor_message_count: 120 }), visitorMsgs(4, 120));
    controller.start();
    FakeWebSocket.last.accept();
    await flush();
    controller.openChat(4);
    await flush();
    expect(api.calls).toContain('messages 4 before=121 limit=50');
    const log = chatLog(controller.getState(), 4);
    expect(log.messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 71 + i));
    await controller.loadOlder(4);
    expect(api.calls).toContain('messages 4 before=71 limit=50');
    expect(chatLog(controller.getState(), 4).messages[0].seq).toBe(21);
    expect(unreadCount(controller.getState(), 4)).toBe(0);
  });

  it('after a reconnect: refetches lists, resumes from the last seq, re-sends un-acked messages; nothing lost or doubled', async () => {
    const { api, controller } = setup();
    api.put(makeSession({ id: 4, last_seq: 3, visitor_message_count: 3, message_count: 3 }), visitorMsgs(4, 3));
    controller.start();
    const first = FakeWebSocket.last;
    first.accept();
    await flush();
    controller.openChat(4);
    await flush();

    // A visitor message arrives live, then we send two replies; only the first is acked.
    first.receive(messageFrame(makeMessage({ session_id: 4, seq: 4 })));
    controller.send(4, 'first reply');
    controller.send(4, 'second reply');
    expect(first.sentOfType('send').map((f) => f.client_id)).toEqual(['cid-1', 'cid-2']);
    first.receive({ type: 'ack', client_id: 'cid-1', session_id: 4, seq: 5, message_id: 500, created_at: '2026-11-24T10:05:00Z' });
    first.receive(messageFrame(makeMessage({ session_id: 4, seq: 5, sender: 'agent', sender_user_id: 1, client_id: 'cid-1', text: 'first reply' })));
    expect(controller.getState().pending.map((p) => p.clientId)).toEqual(['cid-2']);

    first.drop();
    expect(controller.getState().connection).toBe('reconnecting');
    // Sent while down: queued, shown as pending.
    controller.send(4, 'third reply');
    expect(controller.getState().pending.map((p) => p.text)).toEqual(['second reply', 'third reply']);

    api.calls = [];
    await vi.advanceTimersByTimeAsync(500);
    const second = FakeWebSocket.last;
    expect(second).not.toBe(first);
    second.accept();
    await flush();
    expect(second.sentOfType('resume')).toEqual([{ v: 1, type: 'resume', session_id: 4, after_seq: 5 }]);
    expect(second.sentOfType('send').map((f) => [f.client_id, f.text])).toEqual([
      ['cid-2', 'second reply'],
      ['cid-3', 'third reply'],
    ]);
    expect(api.calls).toEqual(expect.arrayContaining(['sessions unassigned limit=50', 'sessions assigned me limit=50', 'sessions open limit=50', 'session 4']));

    // The server had stored cid-2 before the drop (its ack was lost): the resume replays it,
    // a visitor message that came in while we were away, and then the repeat's ack arrives.
    second.receive(messageFrame(makeMessage({ session_id: 4, seq: 6, sender: 'agent', sender_user_id: 1, client_id: 'cid-2', text: 'second reply' })));
    second.receive(messageFrame(makeMessage({ session_id: 4, seq: 7, text: 'are you there?' })));
    second.receive({ type: 'ok', ref: null });
    second.receive({ type: 'ack', client_id: 'cid-2', session_id: 4, seq: 6, message_id: 600, created_at: '2026-11-24T10:06:00Z' });
    second.receive({ type: 'ack', client_id: 'cid-3', session_id: 4, seq: 8, message_id: 800, created_at: '2026-11-24T10:08:00Z' });
    second.receive(messageFrame(makeMessage({ session_id: 4, seq: 8, sender: 'agent', sender_user_id: 1, client_id: 'cid-3', text: 'third reply' })));

    const state = controller.getState();
    expect(state.pending).toEqual([]);
    expect(chatLog(state, 4).messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(state.sessions[4].last_seq).toBe(8);
  });

  it('fetches a session it hears about only through a message frame', async () => {
    const { api, controller } = setup();
    controller.start();
    FakeWebSocket.last.accept();
    await flush();
    api.put(makeSession({ id: 9, last_seq: 1, visitor_message_count: 1 }));
    FakeWebSocket.last.receive(messageFrame(makeMessage({ session_id: 9, seq: 1 })));
    await flush();
    expect(api.calls).toContain('session 9');
    expect(tabSessions(controller.getState(), 'unassigned').map((s) => s.id)).toEqual([9]);
    expect(unreadCount(controller.getState(), 9)).toBe(1);
  });

  it('fills a gap in an open chat through REST', async () => {
    const { api, controller } = setup();
    api.put(makeSession({ id: 4, last_seq: 2 }), visitorMsgs(4, 2));
    controller.start();
    FakeWebSocket.last.accept();
    await flush();
    controller.openChat(4);
    await flush();
    api.messagesById.set(4, visitorMsgs(4, 5));
    FakeWebSocket.last.receive(messageFrame(makeMessage({ session_id: 4, seq: 5 })));
    await flush();
    expect(api.calls).toContain('messages 4 after=2');
    expect(chatLog(controller.getState(), 4).messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('applies take / assign / end answers at once', async () => {
    const { api, controller } = setup();
    api.put(makeSession({ id: 4 }));
    controller.start();
    await flush();
    await controller.take(4);
    expect(tabSessions(controller.getState(), 'mine').map((s) => s.id)).toEqual([4]);
    await controller.assign(4, null);
    expect(tabSessions(controller.getState(), 'unassigned').map((s) => s.id)).toEqual([4]);
    await controller.end(4);
    expect(controller.getState().sessions[4].status).toBe('ended');
  });

  it('sends typing on while composing, off after 3 s idle or on send', async () => {
    const { controller } = setup();
    controller.start();
    const ws = FakeWebSocket.last;
    ws.accept();
    await flush();
    controller.composing(4, 'h');
    controller.composing(4, 'he');
    expect(ws.sentOfType('typing')).toEqual([{ v: 1, type: 'typing', session_id: 4, on: true }]);
    await vi.advanceTimersByTimeAsync(3000);
    expect(ws.sentOfType('typing').map((f) => f.on)).toEqual([true, false]);
    controller.composing(4, 'hello');
    controller.send(4, 'hello');
    expect(ws.sentOfType('typing').map((f) => f.on)).toEqual([true, false, true, false]);
    expect(controller.draft(4)).toBe('');
  });

  it('forgets a visitor typing indicator whose off never came', async () => {
    const { controller } = setup();
    controller.start();
    FakeWebSocket.last.accept();
    await flush();
    FakeWebSocket.last.receive({ type: 'typing', session_id: 4, from: 'visitor', user_id: null, on: true });
    expect(controller.getState().visitorTyping[4]).toBe(true);
    await vi.advanceTimersByTimeAsync(6000);
    expect(controller.getState().visitorTyping[4]).toBeUndefined();
  });

  it('remembers what was read across reloads', async () => {
    const storage = new MemoryStorage();
    const a = setup({ storage });
    a.api.put(makeSession({ id: 4, last_seq: 2, visitor_message_count: 2 }), visitorMsgs(4, 2));
    a.controller.start();
    await flush();
    a.controller.openChat(4);
    await flush();
    a.controller.stop();

    const b = setup({ storage });
    b.api.put(makeSession({ id: 4, last_seq: 3, visitor_message_count: 3 }), visitorMsgs(4, 3));
    b.controller.start();
    await flush();
    expect(unreadCount(b.controller.getState(), 4)).toBe(1);
  });

  it('reports a lost session cookie', async () => {
    const { api, controller, unauth } = setup();
    api.failWith = new ApiError(401, 'unauthenticated', 'log in');
    controller.start();
    await flush();
    expect(unauth).toHaveBeenCalled();
  });

  it('checks the login after repeated connection failures', async () => {
    const { api, controller, unauth } = setup();
    controller.start();
    for (let i = 0; i < 3; i++) {
      FakeWebSocket.last.drop();
      await vi.advanceTimersByTimeAsync(5000);
    }
    expect(api.calls).toContain('me');
    expect(unauth).toHaveBeenCalled();
  });
});
