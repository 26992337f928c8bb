import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { Link, backoff, type Status } from './socket';
import { fakeEnv, hello } from './fake-socket';
import type { ServerFrame } from './protocol';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function setup() {
  const env = fakeEnv();
  const frames: ServerFrame[] = [];
  const statuses: Status[] = [];
  const link = new Link(() => 'ws://x/ws/visitor?key=k', (f) => frames.push(f), (s) => statuses.push(s), env);
  return { env, frames, statuses, link };
}

describe('backoff', () => {
  it('grows from 0.5 s to 5 s and is jittered down by at most half', () => {
    expect(backoff(0, 0)).toBe(500);
    expect(backoff(0, 1)).toBe(250);
    expect(backoff(1, 0)).toBe(1000);
    expect(backoff(3, 0)).toBe(4000);
    expect(backoff(4, 0)).toBe(5000);
    expect(backoff(30, 0)).toBe(5000);
    expect(backoff(30, 1)).toBe(2500);
  });
});

describe('link', () => {
  it('is online after hello and may send only then', () => {
    const { env, link, statuses, frames } = setup();
    link.start();
    expect(link.status).toBe('connecting');
    expect(link.send({ type: 'ping' })).toBe(false);
    env.sockets[0].push(hello(null));
    expect(link.status).toBe('online');
    expect(frames[0].type).toBe('hello');
    expect(link.send({ type: 'ping' })).toBe(true);
    expect(statuses).toEqual(['online']);
  });

  it('reconnects with growing delays and says Reconnecting meanwhile', () => {
    const { env, link } = setup();
    link.start();
    env.sockets[0].push(hello(null));
    env.sockets[0].drop();
    expect(link.status).toBe('reconnecting');
    expect(link.send({ type: 'ping' })).toBe(false);
    vi.advanceTimersByTime(374); // 500 * (1 - 0.5 / 2)
    expect(env.sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(env.sockets).toHaveLength(2);
    env.sockets[1].drop();
    vi.advanceTimersByTime(749);
    expect(env.sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(env.sockets).toHaveLength(3);
    // A hello resets the backoff.
    env.sockets[2].push(hello(null));
    env.sockets[2].drop();
    vi.advanceTimersByTime(375);
    expect(env.sockets).toHaveLength(4);
  });

  it('comes back at once after 4008 (lagging)', () => {
    const { env, link } = setup();
    link.start();
    env.sockets[0].push(hello(null));
    env.sockets[0].drop(1006);
    vi.advanceTimersByTime(375);
    env.sockets[1].drop(1006);
    vi.advanceTimersByTime(750);
    env.sockets[2].drop(4008); // the next delay would have been 1.5 s

    vi.advanceTimersByTime(375);
    expect(env.sockets).toHaveLength(4);
  });

  it('comes back at once after 4009 (resync)', () => {
    const { env, link } = setup();
    link.start();
    env.sockets[0].push(hello(null));
    env.sockets[0].drop(1006);
    vi.advanceTimersByTime(375);
    env.sockets[1].drop(1006);
    vi.advanceTimersByTime(750);
    env.sockets[2].drop(4009); // the next delay would have been 1.5 s

    vi.advanceTimersByTime(375);
    expect(env.sockets).toHaveLength(4);
  });

  it('says Offline when the browser is offline, and retries at once when it is back', () => {
    const { env, link } = setup();
    link.start();
    env.sockets[0].push(hello(null));
    env.isOnline = false;
    env.sockets[0].drop();
    expect(link.status).toBe('offline');
    vi.advanceTimersByTime(10);
    env.isOnline = true;
    link.wake();
    expect(env.sockets).toHaveLength(2);
  });

  it('drops a connection that does not answer its ping', () => {
    const { env, link } = setup();
    link.start();
    const s = env.sockets[0];
    s.push(hello(null));
    vi.advanceTimersByTime(15000);
    expect(s.types()).toEqual(['ping']);
    s.push({ v: 1, type: 'pong' });
    vi.advanceTimersByTime(15000);
    expect(s.types()).toEqual(['ping', 'ping']);
    vi.advanceTimersByTime(10000);
    expect(s.closed).toBe(true);
    expect(link.status).toBe('reconnecting');
    vi.advanceTimersByTime(500);
    expect(env.sockets).toHaveLength(2);
  });

  it('ignores frames it cannot parse', () => {
    const { env, link, frames } = setup();
    link.start();
    env.sockets[0].onmessage!({ data: 'not json' });
    env.sockets[0].onmessage!({ data: '{"type":"message"}' });
    expect(frames).toEqual([]);
  });
});
