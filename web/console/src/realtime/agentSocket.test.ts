import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWebSocket, makeMessage, messageFrame } from '../testing/fakes';
import {
  AgentSocket,
  CLOSE_ACCESS_CHANGED,
  CLOSE_LAGGING,
  CLOSE_RESYNC,
  agentSocketUrl,
} from './agentSocket';
import type { AgentSocketHandlers, ConnectionStatus } from './agentSocket';
import { backoffDelay } from './backoff';
import type { ServerFrame } from './protocol';

function setup(extra: Partial<AgentSocketHandlers> = {}) {
  const frames: ServerFrame[] = [];
  const statuses: ConnectionStatus[] = [];
  const ready: boolean[] = [];
  const rejected: string[] = [];
  const socket = new AgentSocket({
    url: 'ws://test/ws/agent?project=1',
    createSocket: (url) => new FakeWebSocket(url),
    random: () => 0.5, // no jitter: delays are exactly 500, 1000, 2000, 4000, 5000…
    handlers: {
      onFrame: (f) => frames.push(f),
      onStatus: (s) => statuses.push(s),
      onReady: (_h, info) => ready.push(info.reconnected),
      onSendRejected: (e) => rejected.push(e.client_id),
      ...extra,
    },
  });
  return { socket, frames, statuses, ready, rejected };
}

beforeEach(() => {
  FakeWebSocket.reset();
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('AgentSocket connection', () => {
  it('is connecting until hello, then open', () => {
    const { socket, statuses, ready } = setup();
    socket.connect();
    expect(socket.connectionStatus).toBe('connecting');
    FakeWebSocket.last.open();
    expect(socket.connectionStatus).toBe('connecting');
    FakeWebSocket.last.receive({ type: 'hello', user_id: 1, project_id: 1, data_scope: 'all' });
    expect(socket.connectionStatus).toBe('open');
    expect(statuses).toEqual(['connecting', 'open']);
    expect(ready).toEqual([false]);
  });

  it('hands the hello on as a frame too (it carries the data scope)', () => {
    const { socket, frames } = setup();
    socket.connect();
    FakeWebSocket.last.accept({ data_scope: 'own' });
    expect(frames).toEqual([{ v: 1, type: 'hello', user_id: 1, project_id: 1, data_scope: 'own' }]);
  });

  it('reconnects with backoff from 0.5 s doubling to 5 s, and resets after a hello', () => {
    const { socket, statuses } = setup();
    socket.connect();
    FakeWebSocket.last.accept();
    FakeWebSocket.last.drop();
    expect(socket.connectionStatus).toBe('reconnecting');
    expect(statuses[statuses.length - 1]).toBe('reconnecting');

    const delays = [500, 1000, 2000, 4000, 5000, 5000];
    for (const d of delays) {
      const before = FakeWebSocket.all.length;
      vi.advanceTimersByTime(d - 1);
      expect(FakeWebSocket.all.length).toBe(before);
      vi.advanceTimersByTime(1);
      expect(FakeWebSocket.all.length).toBe(before + 1);
      FakeWebSocket.last.drop(); // the attempt fails
    }
    vi.advanceTimersByTime(5000);
    FakeWebSocket.last.accept();
    expect(socket.connectionStatus).toBe('open');
    FakeWebSocket.last.drop();
    const before = FakeWebSocket.all.length;
    vi.advanceTimersByTime(500);
    expect(FakeWebSocket.all.length).toBe(before + 1);
  });

  it('says reconnecting once a first connection attempt has failed', () => {
    const { socket } = setup();
    socket.connect();
    expect(socket.connectionStatus).toBe('connecting');
    FakeWebSocket.last.drop();
    expect(socket.connectionStatus).toBe('reconnecting');
    vi.advanceTimersByTime(500);
    FakeWebSocket.last.accept();
    expect(socket.connectionStatus).toBe('open');
  });

  it('reconnects after the server closes with 4008 (lagging)', () => {
    const { socket, ready } = setup();
    socket.connect();
    FakeWebSocket.last.accept();
    FakeWebSocket.last.drop(CLOSE_LAGGING);
    vi.advanceTimersByTime(500);
    FakeWebSocket.last.accept();
    expect(ready).toEqual([false, true]);
    expect(socket.connectionStatus).toBe('open');
  });

  it('reconnects at once after 4009 (resync), even after failed attempts', () => {
    const { socket, ready } = setup();
    socket.connect();
    FakeWebSocket.last.drop(1006);
    vi.advanceTimersByTime(500);
    FakeWebSocket.last.drop(1006); // the next delay would have been 2 s
    vi.advanceTimersByTime(1000);
    FakeWebSocket.last.drop(CLOSE_RESYNC);
    const before = FakeWebSocket.all.length;
    vi.advanceTimersByTime(600);
    expect(FakeWebSocket.all.length).toBe(before + 1);
    FakeWebSocket.last.accept();
    expect(ready).toEqual([false]);
    expect(socket.connectionStatus).toBe('open');
  });

  it('reports a 4003 close (access changed) and reconnects', () => {
    const accessChanged: number[] = [];
    const { socket, ready } = setup({ onAccessChanged: () => accessChanged.push(1) });
    socket.connect();
    FakeWebSocket.last.accept();
    FakeWebSocket.last.drop(1006);
    vi.advanceTimersByTime(500);
    FakeWebSocket.last.accept();
    expect(accessChanged).toEqual([]);
    FakeWebSocket.last.drop(CLOSE_ACCESS_CHANGED);
    expect(accessChanged).toEqual([1]);
    vi.advanceTimersByTime(500);
    FakeWebSocket.last.accept();
    expect(ready).toEqual([false, true, true]);
    expect(socket.connectionStatus).toBe('open');
  });

  it('stays closed after close()', () => {
    const { socket } = setup();
    socket.connect();
    const ws = FakeWebSocket.last;
    ws.accept();
    socket.close();
    expect(ws.closedWith).toBe(1000);
    expect(socket.connectionStatus).toBe('closed');
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.all.length).toBe(1);
  });

  it('gives up on a silent connection and reconnects', () => {
    const { socket } = setup();
    socket.connect();
    const ws = FakeWebSocket.last;
    ws.accept();
    vi.advanceTimersByTime(15_000);
    expect(ws.sentOfType('ping')).toHaveLength(1);
    vi.advanceTimersByTime(30_000); // 45 s without a frame
    expect(socket.connectionStatus).toBe('reconnecting');
    expect(ws.closedWith).toBe(4000);
    vi.advanceTimersByTime(500);
    expect(FakeWebSocket.all.length).toBe(2);
  });

  it('ignores events from a socket it has replaced', () => {
    const { socket, frames } = setup();
    socket.connect();
    const old = FakeWebSocket.last;
    old.accept();
    old.drop();
    vi.advanceTimersByTime(500);
    FakeWebSocket.last.accept();
    const n = frames.length;
    old.receive(messageFrame(makeMessage({ session_id: 1, seq: 1 })));
    expect(frames.length).toBe(n);
  });

  it('builds the socket URL from the page origin', () => {
    expect(agentSocketUrl(7, { protocol: 'https:', host: 'example.com' })).toBe('wss://example.com/ws/agent?project=7');
    expect(agentSocketUrl(7, { protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/ws/agent?project=7');
  });
});

describe('AgentSocket outbox', () => {
  const entry = { session_id: 5, client_id: 'c-1', text: 'hello' };

  it('writes at once when open and forgets on ack', () => {
    const { socket } = setup();
    socket.connect();
    const ws = FakeWebSocket.last;
    ws.accept();
    socket.send(entry);
    expect(ws.sentOfType('send')).toEqual([{ v: 1, type: 'send', ...entry }]);
    expect(socket.unacked).toHaveLength(1);
    ws.receive({ type: 'ack', client_id: 'c-1', session_id: 5, seq: 3, message_id: 9, created_at: '2026-11-24T10:00:00Z' });
    expect(socket.unacked).toHaveLength(0);
  });

  it('queues while down and sends after the hello', () => {
    const { socket } = setup();
    socket.connect();
    socket.send(entry);
    const ws = FakeWebSocket.last;
    ws.open();
    expect(ws.sentOfType('send')).toHaveLength(0);
    ws.receive({ type: 'hello', user_id: 1, project_id: 1, data_scope: 'all' });
    expect(ws.sentOfType('send')).toEqual([{ v: 1, type: 'send', ...entry }]);
  });

  it('re-sends every un-acked message with the same client_id after a reconnect, in order', () => {
    const { socket } = setup();
    socket.connect();
    const first = FakeWebSocket.last;
    first.accept();
    socket.send(entry);
    socket.send({ session_id: 5, client_id: 'c-2', text: 'second' });
    socket.send({ session_id: 6, client_id: 'c-3', text: 'third' });
    first.receive({ type: 'ack', client_id: 'c-2', session_id: 5, seq: 4, message_id: 10, created_at: '2026-11-24T10:00:00Z' });
    first.drop();
    socket.send({ session_id: 5, client_id: 'c-4', text: 'while down' });
    vi.advanceTimersByTime(500);
    const second = FakeWebSocket.last;
    second.accept();
    expect(second.sentOfType('send').map((f) => f.client_id)).toEqual(['c-1', 'c-3', 'c-4']);
    expect(second.sentOfType('send')[0]).toEqual({ v: 1, type: 'send', ...entry });
  });

  it('retries a db_unavailable refusal with the same client_id', () => {
    const { socket, rejected } = setup();
    socket.connect();
    const ws = FakeWebSocket.last;
    ws.accept();
    socket.send(entry);
    ws.receive({ type: 'error', code: 'db_unavailable', message: 'retry', ref: 'c-1' });
    expect(rejected).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(ws.sentOfType('send').map((f) => f.client_id)).toEqual(['c-1', 'c-1']);
  });

  it('after busy, holds sends until the hint and then sends them again in order, same client_ids', () => {
    const { socket, rejected } = setup();
    socket.connect();
    const ws = FakeWebSocket.last;
    ws.accept();
    socket.send(entry);
    ws.receive({ type: 'error', code: 'busy', message: 'busy', ref: 'c-1', details: { retry_after_ms: 2500 } });
    socket.send({ session_id: 5, client_id: 'c-2', text: 'during the pause' });
    expect(ws.sentOfType('send').map((f) => f.client_id)).toEqual(['c-1']);
    vi.advanceTimersByTime(2400);
    expect(ws.sentOfType('send').map((f) => f.client_id)).toEqual(['c-1']);
    vi.advanceTimersByTime(200);
    expect(ws.sentOfType('send').map((f) => f.client_id)).toEqual(['c-1', 'c-1', 'c-2']);
    expect(rejected).toEqual([]);
  });

  it('drops a message the server refuses for good and reports it', () => {
    const { socket, rejected } = setup();
    socket.connect();
    const ws = FakeWebSocket.last;
    ws.accept();
    socket.send(entry);
    ws.receive({ type: 'error', code: 'session_ended', message: 'ended', ref: 'c-1' });
    expect(rejected).toEqual(['c-1']);
    expect(socket.unacked).toHaveLength(0);
  });

  it('does not queue typing while down', () => {
    const { socket } = setup();
    socket.connect();
    socket.typing(5, true);
    FakeWebSocket.last.accept();
    expect(FakeWebSocket.last.sentOfType('typing')).toHaveLength(0);
    socket.typing(5, true);
    expect(FakeWebSocket.last.sentOfType('typing')).toEqual([{ v: 1, type: 'typing', session_id: 5, on: true }]);
  });
});

describe('AgentSocket resume bookkeeping', () => {
  it('resumes every tracked session from the highest seq seen', () => {
    const { socket } = setup();
    socket.connect();
    const first = FakeWebSocket.last;
    first.accept();
    socket.track(5, 3);
    socket.track(8, 0);
    first.receive(messageFrame(makeMessage({ session_id: 5, seq: 4 })));
    first.receive(messageFrame(makeMessage({ session_id: 5, seq: 5 })));
    first.receive(messageFrame(makeMessage({ session_id: 9, seq: 2 }))); // not tracked
    first.drop();
    vi.advanceTimersByTime(500);
    const second = FakeWebSocket.last;
    second.accept();
    expect(second.sentOfType('resume')).toEqual([
      { v: 1, type: 'resume', session_id: 5, after_seq: 5 },
      { v: 1, type: 'resume', session_id: 8, after_seq: 0 },
    ]);
  });

  it('does not advance over a gap, so the next resume refills it', () => {
    const { socket } = setup();
    socket.connect();
    FakeWebSocket.last.accept();
    socket.track(5, 3);
    FakeWebSocket.last.receive(messageFrame(makeMessage({ session_id: 5, seq: 5 })));
    expect(socket.resumePoint(5)).toBe(3);
    socket.track(5, 5); // the caller filled the gap
    FakeWebSocket.last.receive(messageFrame(makeMessage({ session_id: 5, seq: 6 })));
    expect(socket.resumePoint(5)).toBe(6);
  });

  it('never moves a resume point backwards', () => {
    const { socket } = setup();
    socket.track(5, 7);
    socket.track(5, 2);
    expect(socket.resumePoint(5)).toBe(7);
    socket.untrack(5);
    expect(socket.resumePoint(5)).toBeUndefined();
  });

  it('sends resumes before re-sending the outbox', () => {
    const { socket } = setup();
    socket.connect();
    FakeWebSocket.last.accept();
    socket.track(5, 2);
    socket.send({ session_id: 5, client_id: 'c-1', text: 'x' });
    FakeWebSocket.last.drop();
    vi.advanceTimersByTime(500);
    FakeWebSocket.last.accept();
    expect(FakeWebSocket.last.sent.map((f) => f.type)).toEqual(['resume', 'send']);
  });
});

describe('backoffDelay', () => {
  it('stays within 0.5 s and 5 s whatever the jitter', () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      for (const r of [0, 0.5, 0.999]) {
        const d = backoffDelay(attempt, () => r);
        expect(d).toBeGreaterThanOrEqual(500);
        expect(d).toBeLessThanOrEqual(5000);
      }
    }
    expect(backoffDelay(0, () => 0.5)).toBe(500);
    expect(backoffDelay(3, () => 0.5)).toBe(4000);
    expect(backoffDelay(4, () => 0.5)).toBe(5000);
  });
});
