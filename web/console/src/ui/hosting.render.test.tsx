// Robot hosting in the inbox, real components and controller against fake REST and socket:
// the header switch, the Hosted badges following `session` frames, the system line, Select
// mode's batch switch and "Switch all hosting" with its confirmation.
import { act } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/http';
import { InboxController } from '../inbox/inboxController';
import { FakeApi, MemoryStorage } from '../testing/fakeApi';
import { FakeHostingApi } from '../testing/fakeHosting';
import { FakeWebSocket, makeMessage, makeSession, messageFrame } from '../testing/fakes';
import { reactTestRoot } from '../testing/reactRoot';
import { ChatList } from './ChatList';
import { ChatView } from './ChatView';
import { HostingSettingsPanel } from './HostingSettingsPanel';
import { InboxContext, useInboxState } from './inboxContext';

function Screen({ controller }: { controller: InboxController }) {
  const state = useInboxState();
  return (
    <>
      <ChatList onOpen={(id) => controller.openChat(id)} />
      {state.openSessionId !== null && <ChatView sessionId={state.openSessionId} focusRequest={0} onClose={() => controller.openChat(null)} />}
    </>
  );
}

const dom = reactTestRoot({ now: '2026-11-24T10:05:00Z' });

async function mount(api: FakeApi, hosting: FakeHostingApi) {
  const controller = new InboxController({
    api,
    hosting,
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

const q = <T extends HTMLElement = HTMLElement>(id: string) => dom.host.querySelector<T>(`[data-testid="${id}"]`);
const qa = <T extends HTMLElement = HTMLElement>(id: string) => [...dom.host.querySelectorAll<T>(`[data-testid="${id}"]`)];
const row = (sid: number) => dom.host.querySelector<HTMLElement>(`[data-testid="chat-item"][data-session-id="${sid}"]`)!;

async function click(el: HTMLElement | null) {
  await act(async () => {
    el!.click();
    await vi.advanceTimersByTimeAsync(0);
  });
}

describe('robot hosting in the chat', () => {
  it('the header switch shows bot_hosted, calls PUT …/hosting and the badges follow', async () => {
    const api = new FakeApi();
    api.put(makeSession({ id: 3 }));
    const hosting = new FakeHostingApi(api);
    const controller = await mount(api, hosting);
    await act(async () => {
      controller.openChat(3);
      await vi.advanceTimersByTimeAsync(0);
    });
    const sw = q<HTMLInputElement>('hosting-switch')!;
    expect(sw.checked).toBe(false);
    expect(sw.getAttribute('role')).toBe('switch');
    expect(q('hosted-badge')).toBeNull();
    expect(row(3).querySelector('[data-testid="chat-item-hosted"]')).toBeNull();

    await click(sw);
    expect(hosting.calls).toEqual(['put 3 true']);
    expect(q<HTMLInputElement>('hosting-switch')!.checked).toBe(true);
    expect(q('hosted-badge')?.textContent).toBe('Hosted');
    expect(row(3).querySelector('[data-testid="chat-item-hosted"]')?.textContent).toBe('Hosted');
    expect(row(3).dataset.hosted).toBe('true');

    await click(q('hosting-switch'));
    expect(hosting.calls).toEqual(['put 3 true', 'put 3 false']);
    expect(q('hosted-badge')).toBeNull();
  });

  it('another console’s switch arrives live: the session frame and the centered system line', async () => {
    const api = new FakeApi();
    api.put(makeSession({ id: 3, last_seq: 1 }), [makeMessage({ session_id: 3, seq: 1, text: 'Hi' })]);
    const controller = await mount(api, new FakeHostingApi(api));
    await act(async () => {
      controller.openChat(3);
      await vi.advanceTimersByTimeAsync(0);
    });
    await act(async () => {
      FakeWebSocket.last.receive(messageFrame(makeMessage({ session_id: 3, seq: 2, sender: 'system', text: 'Ann switched robot hosting on', created_at: '2026-11-24T10:04:50Z' })));
      FakeWebSocket.last.receive({ type: 'session', session: makeSession({ id: 3, last_seq: 2, bot_hosted: true }) });
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(q<HTMLInputElement>('hosting-switch')!.checked).toBe(true);
    expect(q('hosted-badge')).not.toBeNull();
    expect(row(3).querySelector('[data-testid="chat-item-hosted"]')).not.toBeNull();
    const line = dom.host.querySelector<HTMLElement>('[data-testid="message"][data-sender="system"]')!;
    expect(line.classList.contains('message-system')).toBe(true);
    expect(line.textContent).toContain('Ann switched robot hosting on');
  });

  it('shows the refusal, and is disabled for an ended session', async () => {
    const api = new FakeApi();
    api.put(makeSession({ id: 3 }));
    api.put(makeSession({ id: 4, status: 'ended', ended_at: '2026-11-24T10:01:00Z', bot_hosted: true }));
    const hosting = new FakeHostingApi(api);
    hosting.failNext = new ApiError(403, 'forbidden', 'not yours');
    const controller = await mount(api, hosting);
    await act(async () => {
      controller.openChat(3);
      await vi.advanceTimersByTimeAsync(0);
    });
    await click(q('hosting-switch'));
    expect(q('hosting-error')?.textContent).toContain('You may not switch hosting for this conversation.');
    expect(q<HTMLInputElement>('hosting-switch')!.checked).toBe(false);

    await act(async () => {
      controller.openChat(4);
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(q<HTMLInputElement>('hosting-switch')!.disabled).toBe(true);
    expect(q<HTMLInputElement>('hosting-switch')!.checked).toBe(true);
  });
});

describe('switching hosting for many sessions', () => {
  it('Select mode: ticked rows switch in one request, the result is spelled out, the selection clears', async () => {
    const api = new FakeApi();
    api.put(makeSession({ id: 1 }));
    api.put(makeSession({ id: 2, bot_hosted: true }));
    api.put(makeSession({ id: 3 }));
    const hosting = new FakeHostingApi(api);
    await mount(api, hosting);
    expect(q('chat-item-select')).toBeNull();
    await click(q('select-mode'));
    expect(qa('chat-item-select')).toHaveLength(3);
    expect(q<HTMLButtonElement>('selection-hosting-on')!.disabled).toBe(true);

    await click(dom.host.querySelector<HTMLElement>('[data-testid="chat-item-select"][data-session-id="1"]'));
    await click(dom.host.querySelector<HTMLElement>('[data-testid="chat-item-select"][data-session-id="2"]'));
    expect(q('selection-count')?.textContent).toBe('2 selected');
    await click(q('selection-hosting-on'));
    expect(hosting.calls).toEqual(['batch [1,2] true']);
    expect(q('hosting-result')?.textContent).toContain('1 switched on, 1 already on, 0 ended');
    expect(q('selection-count')?.textContent).toBe('0 selected');
    expect(qa<HTMLInputElement>('chat-item-select').every((c) => !c.checked)).toBe(true);

    await click(q('select-all'));
    expect(q('selection-count')?.textContent).toBe('3 selected');
    await click(q('selection-hosting-off'));
    expect(hosting.calls[1]).toMatch(/^batch \[\d,\d,\d\] false$/);
    expect(q('hosting-result')?.textContent).toContain('2 switched off, 1 already off, 0 ended');

    await click(q('select-done'));
    expect(q('chat-item-select')).toBeNull();
  });

  it('a refused batch says why and keeps the selection', async () => {
    const api = new FakeApi();
    api.put(makeSession({ id: 1 }));
    const hosting = new FakeHostingApi(api);
    hosting.failNext = new ApiError(404, 'not_found', 'session 1 not found');
    await mount(api, hosting);
    await click(q('select-mode'));
    await click(q('chat-item-select'));
    await click(q('selection-hosting-on'));
    expect(q('hosting-result')?.dataset.tone).toBe('error');
    expect(q('hosting-result')?.textContent).toContain('session 1 not found');
    expect(q('selection-count')?.textContent).toBe('1 selected');
  });

  it('Switch all hosting asks first, then switches every assigned session and shows the count', async () => {
    const api = new FakeApi();
    api.put(makeSession({ id: 1, status: 'assigned', assignee_id: 1 }));
    api.put(makeSession({ id: 2, status: 'assigned', assignee_id: 1 }));
    api.put(makeSession({ id: 3 }));
    const hosting = new FakeHostingApi(api);
    await mount(api, hosting);
    await click(q('hosting-all-on'));
    expect(q('hosting-all-confirm')?.textContent).toContain('Switch robot hosting on for every assigned conversation you can see?');
    await click(q('hosting-all-confirm-no'));
    expect(q('hosting-all-confirm')).toBeNull();
    expect(hosting.calls).toEqual([]);

    await click(q('hosting-all-on'));
    await click(q('hosting-all-confirm-yes'));
    expect(hosting.calls).toEqual(['assigned true']);
    expect(q('hosting-result')?.textContent).toContain('Hosting switched on for 2 assigned sessions.');
    expect(q('hosting-all-confirm')).toBeNull();
  });
});

describe('Settings › Robot hosting', () => {
  async function mountSettings(hosting: FakeHostingApi, canManage: boolean) {
    await act(async () => {
      dom.root.render(<HostingSettingsPanel api={hosting} projectId={1} canManage={canManage} onUnauthenticated={() => undefined} />);
      await vi.advanceTimersByTimeAsync(0);
    });
  }

  it('shows the stored switches and saves only what changed', async () => {
    const hosting = new FakeHostingApi();
    await mountSettings(hosting, true);
    const fresh = q<HTMLInputElement>('hosting-new-sessions')!;
    const handoff = q<HTMLInputElement>('hosting-reply-handoff')!;
    expect(fresh.checked).toBe(false);
    expect(handoff.checked).toBe(true);
    expect(dom.host.textContent).toContain('New sessions start hosted (the bot answers first)');
    expect(dom.host.textContent).toContain("An agent's reply switches hosting off");
    expect(q<HTMLButtonElement>('hosting-settings-save')!.disabled).toBe(true);
    await click(fresh);
    expect(q<HTMLButtonElement>('hosting-settings-save')!.disabled).toBe(false);
    await click(q('hosting-settings-save'));
    expect(hosting.calls).toEqual(['get 1', 'patch 1 {"new_sessions_hosted":true}']);
    expect(q('hosting-settings-saved')?.textContent).toContain('Saved');
    expect(q<HTMLInputElement>('hosting-new-sessions')!.checked).toBe(true);
  });

  it('shows a refused save', async () => {
    const hosting = new FakeHostingApi();
    await mountSettings(hosting, true);
    await click(q('hosting-reply-handoff'));
    hosting.failNext = new ApiError(403, 'forbidden', 'You may not change the project settings');
    await click(q('hosting-settings-save'));
    expect(q('hosting-settings-error')?.textContent).toContain('You may not change the project settings');
  });

  it('is read-only without project.manage', async () => {
    const hosting = new FakeHostingApi();
    hosting.settings = { new_sessions_hosted: true, agent_reply_hands_off: false };
    await mountSettings(hosting, false);
    expect(q<HTMLInputElement>('hosting-new-sessions')!.disabled).toBe(true);
    expect(q<HTMLInputElement>('hosting-new-sessions')!.checked).toBe(true);
    expect(q<HTMLInputElement>('hosting-reply-handoff')!.checked).toBe(false);
    expect(q('hosting-settings-save')).toBeNull();
    expect(q('hosting-settings-readonly')).not.toBeNull();
    expect(hosting.calls).toEqual(['get 1']);
  });
});
