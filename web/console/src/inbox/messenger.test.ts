// The inbox side of Messenger: delivery updates in the reducer, and the controller reading a
// Messenger session's reply window (on open, after visitor messages, at its boundary) and
// sending the picked tag.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Delivery } from '../api/types';
import type { ServerFrame } from '../realtime/protocol';
import { FakeApi, MemoryStorage } from '../testing/fakeApi';
import { FakeChannelsApi, makeChannel, makeWindow } from '../testing/fakeChannels';
import { FakeWebSocket, makeMessage, makeSession, messageFrame } from '../testing/fakes';
import { InboxController } from './inboxController';
import { initialState, reduce } from './reducer';
import type { InboxAction, InboxState } from './reducer';
import { chatLog } from './selectors';

function delivery(over: Partial<Delivery> = {}): Delivery {
  return {
    state: 'pending',
    messaging_type: 'RESPONSE',
    tag: null,
    error_code: null,
    error_subcode: null,
    error: null,
    attempts: 0,
    sent_at: null,
    delivered_at: null,
    read_at: null,
    ...over,
  };
}
const frame = (f: Record<string, unknown>): InboxAction => ({ type: 'frame', frame: f as unknown as ServerFrame });
const run = (s: InboxState, ...a: InboxAction[]) => a.reduce(reduce, s);

describe('delivery in the reducer', () => {
  const agentMsg = makeMessage({ session_id: 1, seq: 2, message_id: 77, sender: 'agent', sender_user_id: 1, client_id: 'c1', delivery: delivery() });
  const loaded = () =>
    run(
      initialState({ userId: 1, dataScope: 'all' }),
      { type: 'sessionFetched', session: makeSession({ id: 1, last_seq: 2 }) },
      { type: 'logLoading', sessionId: 1, older: false },
      { type: 'logPage', sessionId: 1, items: [makeMessage({ session_id: 1, seq: 1 }), agentMsg], kind: 'latest' },
    );

  it('applies message_status frames to the message they name', () => {
    let s = loaded();
    s = run(s, frame({ type: 'message_status', session_id: 1, message_id: 77, delivery: delivery({ state: 'sent', sent_at: '2026-11-24T10:00:03Z' }) }));
    expect(chatLog(s, 1).messages[1].delivery?.state).toBe('sent');
    s = run(s, frame({ type: 'message_status', session_id: 1, message_id: 77, delivery: delivery({ state: 'sent', delivered_at: '2026-11-24T10:00:04Z', read_at: '2026-11-24T10:00:05Z' }) }));
    expect(chatLog(s, 1).messages[1].delivery?.read_at).toBe('2026-11-24T10:00:05Z');
    // The other message is untouched; frames for messages not loaded change nothing.
    expect(chatLog(s, 1).messages[0].delivery).toBeNull();
    const same = run(s, frame({ type: 'message_status', session_id: 1, message_id: 999, delivery: delivery({ state: 'failed' }) }));
    expect(same).toBe(s);
    const otherSession = run(s, frame({ type: 'message_status', session_id: 5, message_id: 77, delivery: delivery({ state: 'failed' }) }));
    expect(otherSession).toBe(s);
  });

  it('a failed send shows its error', () => {
    const s = run(loaded(), frame({ type: 'message_status', session_id: 1, message_id: 77, delivery: delivery({ state: 'failed', error_code: 10, error_subcode: 2018278, error: 'outside the allowed window' }) }));
    expect(chatLog(s, 1).messages[1].delivery).toMatchObject({ state: 'failed', error: 'outside the allowed window' });
  });

  it('the message frame after an ack brings the delivery the ack did not have', () => {
    let s = run(
      initialState({ userId: 1, dataScope: 'all' }),
      { type: 'sessionFetched', session: makeSession({ id: 1, last_seq: 1 }) },
      { type: 'logLoading', sessionId: 1, older: false },
      { type: 'logPage', sessionId: 1, items: [makeMessage({ session_id: 1, seq: 1 })], kind: 'latest' },
      { type: 'pendingAdded', pending: { clientId: 'c1', sessionId: 1, text: 'hi', createdAt: '2026-11-24T10:00:00Z', state: 'sending', error: null } },
      frame({ type: 'ack', client_id: 'c1', session_id: 1, seq: 2, message_id: 77, created_at: '2026-11-24T10:00:02Z' }),
    );
    expect(chatLog(s, 1).messages[1].delivery).toBeNull();
    s = run(s, frame(messageFrame({ ...makeMessage({ session_id: 1, seq: 2, message_id: 77, sender: 'agent', sender_user_id: 1, client_id: 'c1', text: 'hi' }), delivery: delivery() })));
    expect(chatLog(s, 1).messages[1].delivery?.state).toBe('pending');
    expect(chatLog(s, 1).messages).toHaveLength(2);
    // A status already applied is not taken back by a late message frame.
    s = run(s, frame({ type: 'message_status', session_id: 1, message_id: 77, delivery: delivery({ state: 'sent' }) }));
    s = run(s, frame(messageFrame({ ...makeMessage({ session_id: 1, seq: 2, message_id: 77, sender: 'agent' }), delivery: delivery() })));
    expect(chatLog(s, 1).messages[1].delivery?.state).toBe('sent');
  });

  it('a retried message replaces the one shown', () => {
    const s = run(loaded(), { type: 'messageUpdated', message: { ...agentMsg, delivery: delivery({ state: 'pending', attempts: 2 }) } });
    expect(chatLog(s, 1).messages[1].delivery).toMatchObject({ state: 'pending', attempts: 2 });
  });

  it('job frames leave the inbox alone', () => {
    const s = loaded();
    expect(run(s, frame({ type: 'job', job: { id: 1, channel_id: 2 } }))).toBe(s);
  });
});

const flush = () => vi.advanceTimersByTimeAsync(0);

function setup() {
  const api = new FakeApi();
  const channels = new FakeChannelsApi();
  channels.list = [makeChannel({ id: 1, kind: 'web', messenger: null }), makeChannel({ id: 2 })];
  let ids = 0;
  const controller = new InboxController({
    api,
    channels,
    projectId: 1,
    viewer: { userId: 1, dataScope: 'all' },
    storage: new MemoryStorage(),
    socketUrl: 'ws://test',
    socketOptions: { createSocket: (url) => new FakeWebSocket(url), random: () => 0.5 },
    newClientId: () => `cid-${++ids}`,
  });
  return { api, channels, controller };
}

describe('reply windows in the controller', () => {
  beforeEach(() => {
    FakeWebSocket.reset();
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-11-24T12:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('reads the window when a Messenger chat opens and after each visitor message, never for web chats', async () => {
    const { api, channels, controller } = setup();
    api.put(makeSession({ id: 10, channel_id: 2, last_seq: 1 }), [makeMessage({ session_id: 10, seq: 1 })]);
    api.put(makeSession({ id: 11, channel_id: 1, last_seq: 1 }), [makeMessage({ session_id: 11, seq: 1 })]);
    channels.windows.set(10, makeWindow({ window_closes_at: '2026-11-25T10:00:00Z' }));
    controller.start();
    FakeWebSocket.last.accept();
    await flush();
    expect(controller.getState().channelKinds).toEqual({ 1: 'web', 2: 'messenger' });

    controller.openChat(11);
    await flush();
    expect(channels.calls.filter((c) => c.startsWith('window'))).toEqual([]);

    controller.openChat(10);
    await flush();
    expect(channels.calls.filter((c) => c.startsWith('window'))).toEqual(['window 10']);
    expect(controller.getState().replyWindows[10]).toMatchObject({ loading: false, window: { state: 'open' } });

    channels.windows.set(10, makeWindow({ window_closes_at: '2026-11-25T12:00:00Z' }));
    FakeWebSocket.last.receive(messageFrame(makeMessage({ session_id: 10, seq: 2, sender: 'visitor' })));
    await flush();
    expect(channels.calls.filter((c) => c.startsWith('window'))).toEqual(['window 10', 'window 10']);
    expect(controller.getState().replyWindows[10].window?.window_closes_at).toBe('2026-11-25T12:00:00Z');

    // An agent message does not move the window.
    FakeWebSocket.last.receive(messageFrame(makeMessage({ session_id: 10, seq: 3, sender: 'agent', sender_user_id: 1 })));
    await flush();
    expect(channels.calls.filter((c) => c.startsWith('window'))).toHaveLength(2);
    controller.stop();
  });

  it('reads the window again when its state changes (the 24 h boundary), while the chat is open', async () => {
    const { api, channels, controller } = setup();
    api.put(makeSession({ id: 10, channel_id: 2, last_seq: 1 }), [makeMessage({ session_id: 10, seq: 1 })]);
    channels.windows.set(10, makeWindow({ state: 'open', window_closes_at: '2026-11-24T12:10:00Z' }));
    controller.start();
    FakeWebSocket.last.accept();
    await flush();
    controller.openChat(10);
    await flush();
    channels.windows.set(10, makeWindow({ state: 'closed', refusal: 'the 7-day reply window has closed; the person must message the Page first' }));
    await vi.advanceTimersByTimeAsync(9 * 60_000);
    expect(channels.calls.filter((c) => c.startsWith('window'))).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000 + 1000);
    expect(channels.calls.filter((c) => c.startsWith('window'))).toHaveLength(2);
    expect(controller.getState().replyWindows[10].window?.state).toBe('closed');
    controller.stop();
  });

  it('a channel connected after the start is read when its first chat opens', async () => {
    const { api, channels, controller } = setup();
    controller.start();
    FakeWebSocket.last.accept();
    await flush();
    channels.list.push(makeChannel({ id: 3 }));
    api.put(makeSession({ id: 12, channel_id: 3, last_seq: 1 }), [makeMessage({ session_id: 12, seq: 1 })]);
    channels.windows.set(12, makeWindow());
    controller.openChat(12);
    await flush();
    expect(controller.getState().channelKinds[3]).toBe('messenger');
    expect(channels.calls).toContain('window 12');
    controller.stop();
  });

  it('sends the picked tag with the message, and reads the window again after a refusal', async () => {
    const { api, channels, controller } = setup();
    api.put(makeSession({ id: 10, channel_id: 2, last_seq: 1, status: 'assigned', assignee_id: 1 }), [makeMessage({ session_id: 10, seq: 1 })]);
    channels.windows.set(10, makeWindow({ state: 'tag_only', allowed_tags: ['ACCOUNT_NOTICE'] }));
    controller.start();
    FakeWebSocket.last.accept();
    await flush();
    controller.openChat(10);
    await flush();
    expect(controller.send(10, 'Your order shipped', 'ACCOUNT_NOTICE')).toBe(true);
    expect(controller.send(10, 'plain')).toBe(true);
    const sends = FakeWebSocket.last.sentOfType('send');
    expect(sends[0]).toMatchObject({ session_id: 10, client_id: 'cid-1', text: 'Your order shipped', tag: 'ACCOUNT_NOTICE' });
    expect('tag' in sends[1]).toBe(false);
    const before = channels.calls.filter((c) => c.startsWith('window')).length;
    FakeWebSocket.last.receive({ type: 'error', code: 'reply_window_closed', message: 'the 7-day reply window has closed; the person must message the Page first', ref: 'cid-2' });
    await flush();
    const p = controller.getState().pending.find((x) => x.clientId === 'cid-2');
    expect(p).toMatchObject({ state: 'failed', error: 'Not sent: the 7-day reply window has closed; the person must message the Page first' });
    expect(channels.calls.filter((c) => c.startsWith('window')).length).toBe(before + 1);
    // A retry of a tagged message keeps its tag.
    FakeWebSocket.last.receive({ type: 'error', code: 'reply_window_closed', message: 'closed', ref: 'cid-1' });
    await flush();
    controller.retry('cid-1');
    expect(FakeWebSocket.last.sentOfType('send').slice(-1)[0]).toMatchObject({ client_id: 'cid-1', tag: 'ACCOUNT_NOTICE' });
    controller.stop();
  });

  it('retries a failed platform send and shows the answer', async () => {
    const { api, channels, controller } = setup();
    const failed = makeMessage({ session_id: 10, seq: 2, message_id: 55, sender: 'agent', sender_user_id: 1, delivery: delivery({ state: 'failed', error: 'temporarily unavailable' }) });
    api.put(makeSession({ id: 10, channel_id: 2, last_seq: 2 }), [makeMessage({ session_id: 10, seq: 1 }), failed]);
    channels.retried.set(55, { ...failed, delivery: delivery({ state: 'pending', attempts: 3 }) });
    controller.start();
    FakeWebSocket.last.accept();
    await flush();
    controller.openChat(10);
    await flush();
    await controller.retryDelivery(10, 55);
    expect(channels.calls).toContain('retry 10 55');
    expect(chatLog(controller.getState(), 10).messages[1].delivery?.state).toBe('pending');
    await expect(controller.retryDelivery(10, 56)).rejects.toMatchObject({ code: 'conflict' });
    controller.stop();
  });
});
