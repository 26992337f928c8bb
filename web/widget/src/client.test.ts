import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { Client, newId, type Store } from './client';
import { fakeEnv, hello } from './fake-socket';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function memStore(init: Record<string, string> = {}): Store & { data: Record<string, string> } {
  const data = { ...init };
  return {
    data,
    get: (k) => (k in data ? data[k] : null),
    set: (k, v) => {
      if (v === null) delete data[k];
      else data[k] = v;
    },
  };
}

function setup(init?: Record<string, string>) {
  const env = fakeEnv();
  const store = memStore(init);
  const client = new Client({ server: 'https://chat.example.com', key: 'wk_1', store, env });
  client.start();
  return { env, store, client };
}

const sends = (s: { sent: any[] }) => s.sent.filter((f) => f.type === 'send');

describe('client', () => {
  it('connects with the stored token and keeps the one hello gives', () => {
    const { env, store } = setup({ token: 'abc' });
    expect(env.sockets[0].url).toBe('wss://chat.example.com/ws/visitor?key=wk_1&token=abc');
    env.sockets[0].push(hello(null, 'abc'));
    const fresh = setup();
    expect(fresh.env.sockets[0].url).toBe('wss://chat.example.com/ws/visitor?key=wk_1');
    fresh.env.sockets[0].push(hello(null, 'new'));
    expect(fresh.store.data.token).toBe('new');
    expect(store.data.token).toBe('abc');
  });

  it('resumes the open session from 0 on load, then from the last seq shown', () => {
    const { env } = setup({ token: 't' });
    env.sockets[0].push(hello(4, 't', 2));
    expect(env.sockets[0].sent).toEqual([{ v: 1, type: 'resume', after_seq: 0, ref: 'resume' }]);
    env.sockets[0].push({ v: 1, type: 'message', session_id: 4, seq: 1, sender: 'visitor', text: 'a' });
    env.sockets[0].push({ v: 1, type: 'message', session_id: 4, seq: 2, sender: 'agent', text: 'b' });
    env.sockets[0].drop();
    vi.advanceTimersByTime(500);
    env.sockets[1].push(hello(4, 't', 3));
    expect(env.sockets[1].sent).toEqual([{ v: 1, type: 'resume', after_seq: 2, ref: 'resume' }]);
  });

  it('queues while down, persists the outbox, sends each message exactly once when back', () => {
    const { env, store, client } = setup();
    client.send('  first  ');
    client.send('second');
    client.send('   ');
    expect(JSON.parse(store.data.outbox).map((o: any) => o.text)).toEqual(['first', 'second']);
    expect(client.chat.messages.every((m) => m.pending)).toBe(true);
    env.sockets[0].push(hello(null));
    const out = sends(env.sockets[0]);
    expect(out.map((f) => f.text)).toEqual(['first', 'second']);
    client.send('third');
    expect(sends(env.sockets[0]).map((f) => f.text)).toEqual(['first', 'second', 'third']);
    // Only "first" is acked before the socket drops: the rest go again, with the same ids.
    env.sockets[0].push({ v: 1, type: 'session', session: { id: 5, status: 'unassigned' } });
    env.sockets[0].push({ v: 1, type: 'ack', client_id: out[0].client_id, session_id: 5, seq: 1 });
    env.sockets[0].drop();
    vi.advanceTimersByTime(500);
    env.sockets[1].push(hello(5));
    const again = sends(env.sockets[1]);
    expect(again.map((f) => f.text)).toEqual(['second', 'third']);
    expect(again[0].client_id).toBe(out[1].client_id);
    env.sockets[1].push({ v: 1, type: 'ack', client_id: again[0].client_id, session_id: 5, seq: 2 });
    env.sockets[1].push({ v: 1, type: 'ack', client_id: again[1].client_id, session_id: 5, seq: 3 });
    expect(JSON.parse(store.data.outbox)).toEqual([]);
    expect(sends(env.sockets[1])).toHaveLength(2);
  });

  it('sends a stored outbox after a reload', () => {
    const { env, client } = setup({ outbox: JSON.stringify([{ id: 'w1', text: 'left over' }]) });
    expect(client.chat.messages[0]).toMatchObject({ pending: true, text: 'left over' });
    env.sockets[0].push(hello(null));
    expect(sends(env.sockets[0])).toEqual([{ v: 1, type: 'send', client_id: 'w1', text: 'left over' }]);
  });

  it('ignores a corrupt stored outbox', () => {
    const { client } = setup({ outbox: '{"nope":1}' });
    expect(client.chat.messages).toEqual([]);
  });

  it('sends again, with the same client id, after db_unavailable', () => {
    const { env, client } = setup();
    env.sockets[0].push(hello(null));
    client.send('hello');
    const [f] = sends(env.sockets[0]);
    env.sockets[0].push({ v: 1, type: 'error', code: 'db_unavailable', message: 'x', ref: f.client_id });
    expect(sends(env.sockets[0])).toHaveLength(1);
    vi.advanceTimersByTime(1500);
    expect(sends(env.sockets[0])).toEqual([f, f]);
  });

  it('after busy, holds every send until the hint has passed, then sends them again in order', () => {
    const { env, client } = setup();
    env.sockets[0].push(hello(null));
    client.send('first');
    const [f] = sends(env.sockets[0]);
    env.sockets[0].push({
      v: 1,
      type: 'error',
      code: 'busy',
      message: 'x',
      ref: f.client_id,
      details: { retry_after_ms: 3000 },
    });
    client.send('second');
    expect(sends(env.sockets[0])).toEqual([f]);
    vi.advanceTimersByTime(2900);
    expect(sends(env.sockets[0])).toEqual([f]);
    vi.advanceTimersByTime(200);
    const after = sends(env.sockets[0]);
    expect(after.map((x) => x.text)).toEqual(['first', 'first', 'second']);
    expect(after[1].client_id).toBe(f.client_id);
  });

  it('sends typing on and off', () => {
    const { env, client } = setup();
    env.sockets[0].push(hello(null));
    client.typing.input(false);
    client.send('x');
    expect(env.sockets[0].types()).toEqual(['typing', 'typing', 'send']);
    expect(env.sockets[0].sent[1]).toEqual({ v: 1, type: 'typing', on: false });
  });

  it('forgets a stale agent typing indicator', () => {
    const { env, client } = setup();
    env.sockets[0].push(hello(3));
    env.sockets[0].push({ v: 1, type: 'typing', session_id: 3, from: 'agent', on: true });
    expect(client.chat.agentTyping).toBe(true);
    vi.advanceTimersByTime(8000);
    expect(client.chat.agentTyping).toBe(false);
  });

  it('persists the read position', () => {
    const { env, store, client } = setup();
    env.sockets[0].push(hello(3));
    env.sockets[0].push({ v: 1, type: 'message', session_id: 3, seq: 1, sender: 'agent', text: 'hi' });
    expect(client.chat.unread).toBe(1);
    client.setOpen(true);
    expect(JSON.parse(store.data.seen)).toEqual({ s: 3, q: 1 });
  });

  it('makes distinct client ids within the protocol limit', () => {
    const a = newId();
    expect(a).toMatch(/^w[0-9a-f]{24}$/);
    expect(newId()).not.toBe(a);
  });

  it('a button click goes out as a send with the button and the title as text', () => {
    const { env, client } = setup({ token: 't' });
    env.sockets[0].push(hello(4, 't', 1));
    env.sockets[0].push({ v: 1, type: 'message', session_id: 4, seq: 1, message_id: 90, sender: 'bot', text: 'Pick one', content: { buttons: [{ id: 'price', title: 'Pricing' }] } });
    client.click(90, { id: 'price', title: 'Pricing' });
    const [f] = sends(env.sockets[0]);
    expect(f).toEqual({ v: 1, type: 'send', client_id: f.client_id, text: 'Pricing', button: { message_id: 90, id: 'price' } });
    expect(client.chat.messages[1]).toMatchObject({ sender: 'visitor', text: 'Pricing', pending: true, content: { button: { message_id: 90, id: 'price' } } });
  });
});
