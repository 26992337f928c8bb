// The Messenger parts of the console rendered against fakes: the settings panel (secrets
// write-only, errors next to the form, sync progress from frames) and a Messenger chat (reply
// window bar, tag picker, delivery ticks with Retry, attachments as links, off-platform label).
import { act } from 'react';
import { describe, expect, it, vi } from 'vitest';
import type { Delivery } from '../api/types';
import { ApiError } from '../api/http';
import type { Api } from '../api/http';
import { InboxController } from '../inbox/inboxController';
import type { ServerFrame } from '../realtime/protocol';
import { FakeApi, MemoryStorage } from '../testing/fakeApi';
import { FakeChannelsApi, makeChannel, makeJob, makeWindow } from '../testing/fakeChannels';
import { FakeWebSocket, makeMessage, makeSession } from '../testing/fakes';
import { reactTestRoot } from '../testing/reactRoot';
import { ChatView } from './ChatView';
import { InboxContext } from './inboxContext';
import { MessengerSettingsPanel } from './MessengerSettingsPanel';
import { SettingsPage } from './SettingsPage';

const dom = reactTestRoot({ now: '2026-11-24T12:00:00Z' });
const q = <T extends HTMLElement = HTMLElement>(id: string, root: ParentNode = dom.host) => root.querySelector<T>(`[data-testid="${id}"]`);
const qa = (id: string, root: ParentNode = dom.host) => [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];

const lastOf = <T,>(xs: T[]): T => xs[xs.length - 1];

function type(input: HTMLInputElement | HTMLSelectElement, value: string) {
  const proto = input instanceof HTMLSelectElement ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(input, value);
  input.dispatchEvent(new Event(input instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true }));
}

async function click(el: HTMLElement | null) {
  await act(async () => {
    el!.click();
    await vi.advanceTimersByTimeAsync(0);
  });
}

function hub() {
  const ls = new Set<(f: ServerFrame) => void>();
  return {
    subscribe: (l: (f: ServerFrame) => void) => {
      ls.add(l);
      return () => ls.delete(l);
    },
    emit: (f: ServerFrame) => act(async () => ls.forEach((l) => l(f))),
  };
}

async function mountSettings(api: FakeChannelsApi, frames = hub()) {
  await act(async () => {
    dom.root.render(<MessengerSettingsPanel api={api} projectId={1} subscribeFrames={frames.subscribe} onUnauthenticated={() => undefined} />);
    await vi.advanceTimersByTimeAsync(0);
  });
  return frames;
}

describe('Messenger settings panel', () => {
  it('shows each Page with its health, secret flags and webhook URL, never a secret', async () => {
    const api = new FakeChannelsApi();
    api.list = [
      makeChannel({ id: 5, health: 'needs_reconnect', health_detail: 'Error validating access token (190)' }),
      makeChannel({ id: 6, messenger: { ...makeChannel({ id: 6 }).messenger!, has_app_secret: false } }),
    ];
    await mountSettings(api);
    const pages = qa('mx-page');
    expect(pages).toHaveLength(2);
    expect(q('mx-health', pages[0])?.textContent).toBe('Token invalid — reconnect — Error validating access token (190)');
    expect(q('mx-health', pages[0])?.dataset.health).toBe('needs_reconnect');
    expect(q('mx-health', pages[1])?.textContent).toBe('Connected');
    expect(q('mx-has-page-token', pages[1])?.textContent).toBe('set');
    expect(q('mx-has-app-secret', pages[1])?.textContent).toBe('not set');
    expect(q('mx-webhook-url', pages[0])?.textContent).toBe('https://sb.example.com/webhooks/messenger');
  });

  it('the edit form has empty password fields and sends only typed secrets', async () => {
    const api = new FakeChannelsApi();
    api.list = [makeChannel({ id: 5 })];
    await mountSettings(api);
    await click(q('mx-edit'));
    for (const id of ['mx-page-token', 'mx-app-secret', 'mx-verify-token']) {
      const input = q<HTMLInputElement>(id)!;
      expect(input.type).toBe('password');
      expect(input.value).toBe('');
    }
    expect(q<HTMLInputElement>('mx-page-id')!.disabled).toBe(true);
    await act(async () => type(q<HTMLInputElement>('mx-page-token')!, 'new-token'));
    await click(q('mx-save'));
    expect(api.calls).toContain('patch 5 {"page_access_token":"new-token"}');
    expect(q('mx-form')).toBeNull();
    expect(q('mx-notice')?.textContent).toBe('Saved Page 5.');
  });

  it('connects a Page through the form and shows a refusal next to it', async () => {
    const api = new FakeChannelsApi();
    await mountSettings(api);
    expect(dom.host.textContent).toContain('No Page is connected yet.');
    await click(q('mx-connect'));
    expect(q('mx-tags-hint')?.textContent).toContain('2026-04-27');
    expect(q('mx-tags')?.dataset.count).toBe('0');
    await act(async () => {
      type(q<HTMLInputElement>('mx-page-id')!, '4242');
      type(q<HTMLInputElement>('mx-page-name')!, 'Acme');
      type(q<HTMLInputElement>('mx-page-token')!, 'tok');
      type(q<HTMLInputElement>('mx-app-id')!, '555');
      type(q<HTMLInputElement>('mx-app-secret')!, 'sec');
      type(q<HTMLInputElement>('mx-verify-token')!, 'ver');
    });
    await click(q('mx-human-agent'));
    api.failNext.connectMessenger = new ApiError(400, 'validation', 'the Page access token was refused by Meta (190)');
    await click(q('mx-save'));
    expect(q('mx-form-error')?.textContent).toBe('the Page access token was refused by Meta (190)');
    await click(q('mx-save'));
    expect(q('mx-form')).toBeNull();
    expect(qa('mx-page')).toHaveLength(1);
    const body = JSON.parse(lastOf(api.calls.filter((c) => c.startsWith('connect '))).slice('connect '.length));
    expect(body).toEqual({ page_id: '4242', page_name: 'Acme', page_access_token: 'tok', app_id: '555', app_secret: 'sec', verify_token: 'ver', human_agent: true, allowed_tags: [] });
  });

  it('Sync all asks first; progress follows job frames; Cancel cancels', async () => {
    const api = new FakeChannelsApi();
    api.list = [makeChannel({ id: 5 })];
    const frames = await mountSettings(api);
    expect(q('mx-job')).toBeNull();
    await click(q('mx-sync-all'));
    expect(q('mx-sync-all-confirm')).not.toBeNull();
    expect(api.calls.some((c) => c.startsWith('sync'))).toBe(false);
    await click(q('mx-sync-all-yes'));
    expect(api.calls).toContain('sync 5 all true');
    expect(q('mx-job')?.dataset.state).toBe('queued');
    expect(q<HTMLButtonElement>('mx-sync-recent')!.disabled).toBe(true);
    const running = makeJob({ id: 1, channel_id: 5, scope: 'all', state: 'running', conversations_done: 25, contacts_imported: 24, messages_imported: 480, errors: 1, last_error: 'profile: (#551) This person isn’t available right now.', updated_at: '2026-11-24T12:00:03Z' });
    api.jobs.set(5, running); // what the server now holds
    await frames.emit({ type: 'job', job: running });
    expect(q('mx-job-counters')?.textContent).toBe('25 conversations · 24 contacts imported · 480 messages imported · 1 error');
    expect(q('mx-job-last-error')?.textContent).toContain('#551');
    await click(q('mx-sync-cancel'));
    expect(api.calls).toContain('cancel 1');
    expect(q('mx-job')?.dataset.state).toBe('cancelled');
    expect(q('mx-sync-cancel')).toBeNull();
    expect(q<HTMLButtonElement>('mx-sync-recent')!.disabled).toBe(false);
  });
});

function delivery(over: Partial<Delivery> = {}): Delivery {
  return { state: 'sent', messaging_type: 'RESPONSE', tag: null, error_code: null, error_subcode: null, error: null, attempts: 1, sent_at: null, delivered_at: null, read_at: null, ...over };
}

async function mountChat(api: FakeApi, channels: FakeChannelsApi, sessionId: number) {
  const controller = new InboxController({
    api,
    channels,
    projectId: 1,
    viewer: { userId: 1, dataScope: 'all' },
    storage: new MemoryStorage(),
    socketUrl: 'ws://test',
    socketOptions: { createSocket: (url) => new FakeWebSocket(url), random: () => 0.5 },
    newClientId: () => 'cid-1',
  });
  await act(async () => {
    controller.start();
    FakeWebSocket.last.accept();
    controller.openChat(sessionId);
    dom.root.render(
      <InboxContext.Provider value={{ controller, projectId: 1, userId: 1, members: [] }}>
        <ChatView sessionId={sessionId} focusRequest={null} onClose={() => undefined} />
      </InboxContext.Provider>,
    );
    await vi.advanceTimersByTimeAsync(0);
  });
  return controller;
}

describe('a Messenger chat', () => {
  function chatSetup(window: ReturnType<typeof makeWindow>, msgs = [makeMessage({ session_id: 10, seq: 1 })]) {
    const api = new FakeApi();
    const channels = new FakeChannelsApi();
    channels.list = [makeChannel({ id: 2 })];
    api.put(makeSession({ id: 10, channel_id: 2, status: 'assigned', assignee_id: 1, last_seq: msgs.length }), msgs);
    channels.windows.set(10, window);
    return { api, channels };
  }

  it('counts the 24 h window down live', async () => {
    const { api, channels } = chatSetup(makeWindow({ state: 'open', window_closes_at: '2026-11-24T15:12:30Z' }));
    await mountChat(api, channels, 10);
    expect(q('reply-window')?.dataset.state).toBe('open');
    expect(q('reply-window-text')?.textContent).toBe('Reply window: 3 h 12 min left');
    await act(async () => {
      await vi.advanceTimersByTimeAsync(31_000);
    });
    expect(q('reply-window-text')?.textContent).toBe('Reply window: 3 h 11 min left');
    expect(q<HTMLTextAreaElement>('composer')!.disabled).toBe(false);
  });

  it('closed: the refusal, and the composer disabled', async () => {
    const refusal = 'the 7-day reply window has closed; the person must message the Page first';
    const { api, channels } = chatSetup(makeWindow({ state: 'closed', refusal }));
    await mountChat(api, channels, 10);
    expect(q('reply-window')?.dataset.state).toBe('closed');
    expect(q('reply-window-text')?.textContent).toBe(refusal);
    expect(q<HTMLTextAreaElement>('composer')!.disabled).toBe(true);
    expect(q<HTMLButtonElement>('send')!.disabled).toBe(true);
  });

  it('past 7 days: a tag must be picked, and goes with the send', async () => {
    const { api, channels } = chatSetup(makeWindow({ state: 'tag_only', allowed_tags: ['ACCOUNT_NOTICE', 'EVENT_REMINDER'] }));
    await mountChat(api, channels, 10);
    expect(q('reply-window-text')?.textContent).toBe('Past 7 days: pick a message tag');
    const composer = q<HTMLTextAreaElement>('composer')!;
    await act(async () => {
      Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value')!.set!.call(composer, 'Your ticket is ready');
      composer.dispatchEvent(new Event('input', { bubbles: true }));
    });
    expect(q<HTMLButtonElement>('send')!.disabled).toBe(true);
    await act(async () => type(q<HTMLSelectElement>('reply-window-tag')!, 'EVENT_REMINDER'));
    expect(q<HTMLButtonElement>('send')!.disabled).toBe(false);
    await click(q('send'));
    expect(lastOf(FakeWebSocket.last.sentOfType('send'))).toMatchObject({ text: 'Your ticket is ready', tag: 'EVENT_REMINDER' });
  });

  it("an automation flow's bot message shows its buttons as chips and a Bot label; a visitor's click says so", async () => {
    const msgs = [
      makeMessage({ session_id: 10, seq: 1, text: 'hi' }),
      makeMessage({ session_id: 10, seq: 2, message_id: 70, sender: 'bot', text: 'Pick one', content: { buttons: [{ id: 'p', title: 'Pricing' }, { id: 's', title: 'Support' }] } }),
      makeMessage({ session_id: 10, seq: 3, text: 'Pricing', content: { button: { message_id: 70, id: 'p' } } }),
    ];
    const { api, channels } = chatSetup(makeWindow(), msgs);
    await mountChat(api, channels, 10);
    const [first, bot, click] = qa('message');
    expect(qa('message-button-chip', bot).map((c) => c.textContent)).toEqual(['Pricing', 'Support']);
    expect(bot.querySelectorAll('button').length).toBe(0);
    expect(q('bot-label', bot)?.textContent).toBe('Bot');
    expect(q('message-button-click', click)?.textContent).toBe('clicked “Pricing”');
    expect(q('message-button-click', first)).toBeNull();
  });

  it('shows delivery ticks, failures with Retry, attachments as links and off-platform replies', async () => {
    const msgs = [
      makeMessage({ session_id: 10, seq: 1, text: '', content: { attachments: [{ type: 'image', url: 'https://cdn.example.com/p.jpg' }, { type: 'file', url: 'javascript:alert(1)' }] } }),
      makeMessage({ session_id: 10, seq: 2, text: 'Get Started', content: { postback: { title: 'Get Started', payload: 'GET_STARTED' } } }),
      makeMessage({ session_id: 10, seq: 3, message_id: 53, sender: 'agent', sender_user_id: 1, delivery: delivery({ read_at: '2026-11-24T11:00:00Z', delivered_at: '2026-11-24T11:00:00Z' }) }),
      makeMessage({ session_id: 10, seq: 4, message_id: 54, sender: 'agent', sender_user_id: 1, delivery: delivery({ state: 'failed', error: 'the person cannot be reached right now' }) }),
      makeMessage({ session_id: 10, seq: 5, message_id: 55, sender: 'agent', sender_user_id: null, off_platform: true, text: 'answered from the phone' }),
      makeMessage({ session_id: 10, seq: 6, message_id: 56, sender: 'agent', sender_user_id: 1, delivery: delivery({ state: 'unconfirmed' }) }),
    ];
    const { api, channels } = chatSetup(makeWindow(), msgs);
    channels.retried.set(54, { ...msgs[3], delivery: delivery({ state: 'pending' }) });
    await mountChat(api, channels, 10);
    const rows = qa('message');
    expect(rows).toHaveLength(6);
    const links = qa('message-attachment', rows[0]) as HTMLAnchorElement[];
    expect(links.map((a) => a.href)).toEqual(['https://cdn.example.com/p.jpg']);
    expect(links[0].textContent).toBe('Image');
    expect(dom.host.querySelector('img')).toBeNull();
    expect(q('message-postback', rows[1])?.textContent).toBe('Tapped: Get Started');
    expect(rows[1].querySelector('.bubble')?.textContent).toBe('Tapped: Get Started');
    expect(q('delivery', rows[2])).toMatchObject({ textContent: '✓✓' });
    expect(q('delivery', rows[2])?.dataset.state).toBe('read');
    expect(q('delivery', rows[3])?.textContent).toContain('Not sent: the person cannot be reached right now');
    expect(q('off-platform', rows[4])?.textContent).toBe('Sent from the Page inbox');
    expect(q('delivery', rows[5])?.textContent).toContain('May not have been sent');
    expect(q('delivery-retry', rows[5])).not.toBeNull();

    await click(q('delivery-retry', rows[3]));
    expect(channels.calls).toContain('retry 10 54');
    expect(q('delivery', qa('message')[3])?.dataset.state).toBe('clock');
    // A refused retry says why.
    await click(q('delivery-retry', qa('message')[5]));
    expect(qa('message')[5].textContent).toContain('this message cannot be retried');
  });

  it('web chats have no reply window bar', async () => {
    const api = new FakeApi();
    const channels = new FakeChannelsApi();
    channels.list = [makeChannel({ id: 1, kind: 'web', messenger: null })];
    api.put(makeSession({ id: 10, channel_id: 1, last_seq: 1 }), [makeMessage({ session_id: 10, seq: 1 })]);
    await mountChat(api, channels, 10);
    expect(q('reply-window')).toBeNull();
    expect(channels.calls.some((c) => c.startsWith('window'))).toBe(false);
  });
});

describe('Settings › Channels › Messenger', () => {
  const me = { user: { id: 1, email: 'owner@example.com', display_name: 'Owner' }, projects: [] };
  const membership = (permissions: string[]) => ({ project: { id: 1, name: 'Demo' }, role: { name: 'r', permissions, data_scope: 'all' as const } });

  it('is listed and opens for members with channels.manage only', async () => {
    window.history.pushState(null, '', '/settings/messenger');
    const api = new FakeChannelsApi();
    api.list = [makeChannel({ id: 5 })];
    const fakeApi = api as unknown as Api;
    await act(async () => {
      dom.root.render(<SettingsPage api={fakeApi} me={me} membership={membership(['channels.manage'])} onUnauthenticated={() => undefined} />);
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(q('settings-nav-messenger')?.getAttribute('href')).toBe('/settings/messenger');
    expect(q('messenger-page')).not.toBeNull();
    expect(qa('mx-page')).toHaveLength(1);

    await act(async () => {
      dom.root.render(<SettingsPage key="agent" api={fakeApi} me={me} membership={membership([])} onUnauthenticated={() => undefined} />);
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(q('settings-nav-messenger')).toBeNull();
    expect(q('messenger-page')).toBeNull();
    expect(q('messenger-forbidden')).not.toBeNull();
    window.history.pushState(null, '', '/');
  });
});
