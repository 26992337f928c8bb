// Renders the real components against the real controller (fake API and socket) and checks
// what e2e tests and agents rely on: test ids, live updates, escaping, pending messages.
import { act } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { InboxController } from '../inbox/inboxController';
import { FakeApi, MemoryStorage } from '../testing/fakeApi';
import { FakeWebSocket, makeMessage, makeSession, messageFrame } from '../testing/fakes';
import { ChatList } from './ChatList';
import { ChatView } from './ChatView';
import { ConnectionPill } from './ConnectionStatus';
import { InboxContext, useInboxState } from './inboxContext';
import { reactTestRoot } from '../testing/reactRoot';

function Screen({ controller }: { controller: InboxController }) {
  const state = useInboxState();
  return (
    <>
      <ConnectionPill status={state.connection} />
      <ChatList onOpen={(id) => controller.openChat(id)} />
      {state.openSessionId !== null && <ChatView sessionId={state.openSessionId} focusRequest={0} onClose={() => controller.openChat(null)} />}
    </>
  );
}

const dom = reactTestRoot({ now: '2026-11-24T10:05:00Z' });

async function mount(api: FakeApi) {
  const controller = new InboxController({
    api,
    projectId: 1,
    viewer: { userId: 1, dataScope: 'all' },
    storage: new MemoryStorage(),
    socketUrl: 'ws://test',
    socketOptions: { createSocket: (url) => new FakeWebSocket(url), random: () => 0.5 },
    newClientId: () => 'cid-1',
  });
  await act(async () => {
    controller.start();
    dom.root.render(
      <InboxContext.Provider value={{ controller, projectId: 1, userId: 1, members: [] }}>
        <Screen controller={controller} />
      </InboxContext.Provider>,
    );
    FakeWebSocket.last.accept();
    await vi.advanceTimersByTimeAsync(0);
  });
  return controller;
}

const q = (id: string) => dom.host.querySelector(`[data-testid="${id}"]`);
const qa = (id: string) => [...dom.host.querySelectorAll(`[data-testid="${id}"]`)];

describe('inbox screen', () => {
  it('lists sessions with name, unread count and a live waiting time', async () => {
    const api = new FakeApi();
    api.put(
      makeSession({
        id: 3,
        contact_name: 'visitor-3',
        note_name: 'Ada (ACME)',
        last_seq: 2,
        visitor_message_count: 2,
        message_count: 2,
        awaiting_since: '2026-11-24T10:03:00Z',
        last_message_at: '2026-11-24T10:04:00Z',
      }),
    );
    await mount(api);
    const rows = qa('chat-item');
    expect(rows).toHaveLength(1);
    expect(rows[0].getAttribute('data-session-id')).toBe('3');
    expect(rows[0].getAttribute('data-unread')).toBe('2');
    // Default preferences (note_name_first off): the visitor's own name, the note name beside it.
    expect(rows[0].querySelector('[data-testid="chat-item-name"]')?.textContent).toBe('visitor-3 Ada (ACME)');
    expect(rows[0].querySelector('[data-testid="chat-item-wait"]')?.textContent).toBe('waiting 2m');
    expect(q('connection-status')?.textContent).toContain('Connected');
    await act(async () => {
      await vi.advanceTimersByTimeAsync(60_000);
    });
    expect(q('chat-item-wait')?.textContent).toBe('waiting 3m');
  });

  it('adds, moves and re-tabs rows live', async () => {
    const api = new FakeApi();
    api.put(makeSession({ id: 1, last_message_at: '2026-11-24T10:01:00Z' }));
    api.put(makeSession({ id: 2, last_message_at: '2026-11-24T10:02:00Z' }));
    await mount(api);
    const order = () => qa('chat-item').map((r) => r.getAttribute('data-session-id'));
    expect(order()).toEqual(['2', '1']);
    await act(async () => {
      FakeWebSocket.last.receive({ type: 'session', session: makeSession({ id: 5, last_message_at: '2026-11-24T10:04:00Z' }) });
    });
    expect(order()).toEqual(['5', '2', '1']);
    await act(async () => {
      FakeWebSocket.last.receive(messageFrame(makeMessage({ session_id: 1, seq: 1, created_at: '2026-11-24T10:04:30Z' })));
    });
    expect(order()).toEqual(['1', '5', '2']);
    expect(qa('chat-item')[0].getAttribute('data-unread')).toBe('1');
    await act(async () => {
      FakeWebSocket.last.receive({ type: 'session', session: makeSession({ id: 1, status: 'assigned', assignee_id: 1, last_seq: 1, visitor_message_count: 1, last_message_at: '2026-11-24T10:04:30Z' }) });
    });
    expect(order()).toEqual(['5', '2']);
    await act(async () => (q('tab-mine') as HTMLButtonElement).click());
    await act(async () => {
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(order()).toEqual(['1']);
  });

  it('opens a chat: escaped text, pending until ack, typing indicator, status', async () => {
    const api = new FakeApi();
    const evil = '<img src=x onerror="window.pwned=1"><b>bold?</b>';
    api.put(makeSession({ id: 3, last_seq: 2, visitor_message_count: 2, message_count: 2 }), [
      makeMessage({ session_id: 3, seq: 1, text: evil }),
      makeMessage({ session_id: 3, seq: 2, sender: 'system', text: 'Visitor left the page' }),
    ]);
    const controller = await mount(api);
    await act(async () => {
      (q('chat-item') as HTMLButtonElement).click();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(q('chat-item')?.getAttribute('data-unread')).toBe('0');
    const msgs = qa('message');
    expect(msgs.map((m) => [m.getAttribute('data-seq'), m.getAttribute('data-sender')])).toEqual([
      ['1', 'visitor'],
      ['2', 'system'],
    ]);
    expect(msgs[0].textContent).toContain(evil);
    expect(dom.host.querySelector('img')).toBeNull();
    expect(q('session-status')?.textContent).toBe('unassigned');

    // Enter sends; Shift+Enter would not.
    const composer = q('composer') as HTMLTextAreaElement;
    await act(async () => {
      const setter = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value')!.set!;
      setter.call(composer, 'Hello!');
      composer.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(async () => {
      composer.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', shiftKey: true, bubbles: true }));
    });
    expect(FakeWebSocket.last.sentOfType('send')).toHaveLength(0);
    await act(async () => {
      composer.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    });
    expect(FakeWebSocket.last.sentOfType('send')).toEqual([{ v: 1, type: 'send', session_id: 3, client_id: 'cid-1', text: 'Hello!' }]);
    const pending = dom.host.querySelector('[data-testid="message"][data-pending="true"]');
    expect(pending?.textContent).toContain('Hello!');
    expect(composer.value).toBe('');

    await act(async () => {
      FakeWebSocket.last.receive({ type: 'ack', client_id: 'cid-1', session_id: 3, seq: 3, message_id: 9, created_at: '2026-11-24T10:05:01Z' });
    });
    expect(dom.host.querySelector('[data-pending="true"]')).toBeNull();
    expect(qa('message').map((m) => m.getAttribute('data-seq'))).toEqual(['1', '2', '3']);
    expect(q('session-status')?.textContent).toBe('assigned');

    expect(q('typing-indicator')).toBeNull();
    await act(async () => {
      FakeWebSocket.last.receive({ type: 'typing', session_id: 3, from: 'visitor', user_id: null, on: true });
    });
    expect(q('typing-indicator')?.textContent).toContain('Visitor is typing');
    await act(async () => {
      FakeWebSocket.last.receive({ type: 'typing', session_id: 3, from: 'visitor', user_id: null, on: false });
    });
    expect(q('typing-indicator')).toBeNull();

    await act(async () => {
      FakeWebSocket.last.drop();
    });
    expect(q('connection-status')?.textContent).toContain('Reconnecting');
    void controller;
  });

  it('offers Unassigned and the team in the assign select', async () => {
    const api = new FakeApi();
    api.put(makeSession({ id: 3 }));
    const controller = await mount(api);
    await act(async () => {
      controller.openChat(3);
      await vi.advanceTimersByTimeAsync(0);
    });
    const select = q('assign-select') as HTMLSelectElement;
    expect(select.tagName).toBe('SELECT');
    expect(select.value).toBe('');
    expect([...select.options].map((o) => o.value)).toEqual(['', '1']);
    expect((q('take') as HTMLButtonElement).disabled).toBe(false);
    expect((q('end') as HTMLButtonElement).disabled).toBe(false);
  });
});
