// Renders chat list, details panel and Contacts page against the real controllers (fake API
// and socket): inline editing, server errors, live `contact` frames and the list settings.
import { act } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { InboxController } from '../inbox/inboxController';
import { FakeApi, MemoryStorage } from '../testing/fakeApi';
import { FakeWebSocket, makeSession } from '../testing/fakes';
import { ChatList } from '../ui/ChatList';
import { ContactsPage } from '../ui/ContactsPage';
import { DetailsPanel } from '../ui/DetailsPanel';
import { InboxContext, useInboxState } from '../ui/inboxContext';
import { CustomerInfoContext } from './customerInfoContext';
import { CustomerInfoController } from './customerInfoController';
import { FakeContactsApi, makeContact } from './fakeContactsApi';
import { reactTestRoot } from '../testing/reactRoot';

const dom = reactTestRoot({ now: '2026-11-24T10:05:00Z' });

function Screen({ contactsApi, page }: { contactsApi: FakeContactsApi; page: boolean }) {
  const state = useInboxState();
  return (
    <>
      <ChatList onOpen={() => undefined} />
      {state.openSessionId !== null && <DetailsPanel sessionId={state.openSessionId} />}
      {page && <ContactsPage api={contactsApi} projectId={1} onUnauthenticated={() => undefined} />}
    </>
  );
}

async function mount(page = false) {
  const api = new FakeApi();
  api.put(makeSession({ id: 3, contact_id: 30, contact_name: 'visitor-3' }));
  const contactsApi = new FakeContactsApi();
  contactsApi.put(makeContact({ id: 30, name: 'visitor-3', phone: '+4930111111', labels: ['vip'] }));
  contactsApi.tags = [
    { id: 1, name: 'Billing', color: '#ff0000' },
    { id: 2, name: 'Bug', color: 'red;}' },
  ];
  const controller = new InboxController({
    api,
    projectId: 1,
    viewer: { userId: 1, dataScope: 'all' },
    storage: new MemoryStorage(),
    socketUrl: 'ws://test',
    socketOptions: { createSocket: (url) => new FakeWebSocket(url), random: () => 0.5 },
  });
  const info = new CustomerInfoController({ api: contactsApi, projectId: 1, store: controller });
  await act(async () => {
    controller.start();
    info.start();
    dom.root.render(
      <InboxContext.Provider value={{ controller, projectId: 1, userId: 1, members: [] }}>
        <CustomerInfoContext.Provider value={info}>
          <Screen contactsApi={contactsApi} page={page} />
        </CustomerInfoContext.Provider>
      </InboxContext.Provider>,
    );
    FakeWebSocket.last.accept();
    await vi.advanceTimersByTimeAsync(0);
  });
  return { controller, info, contactsApi };
}

const q = <T extends HTMLElement = HTMLElement>(id: string, scope: ParentNode = dom.host) => scope.querySelector<T>(`[data-testid="${id}"]`);

function type(input: HTMLInputElement, value: string) {
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
  setter.call(input, value);
  input.dispatchEvent(new Event('input', { bubbles: true }));
}
const key = (el: HTMLElement, k: string) => el.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));

async function openChat(controller: InboxController) {
  await act(async () => {
    controller.openChat(3);
    await vi.advanceTimersByTimeAsync(0);
  });
}

describe('customer info column', () => {
  it('edits in place: Enter saves, the server error keeps the old value, Esc cancels', async () => {
    const { controller, contactsApi } = await mount();
    await openChat(controller);
    expect(q('info-phone')?.textContent).toBe('+4930111111');
    expect(q('info-email')?.textContent).toBe('Add e-mail');

    await act(async () => q('info-phone')!.click());
    const phone = q<HTMLInputElement>('info-phone-input')!;
    expect(phone.value).toBe('+4930111111');
    await act(async () => type(phone, '030 1234'));
    expect(dom.host.querySelector('.info-hint')?.textContent).toMatch(/Start with \+/);
    await act(async () => {
      key(phone, 'Enter');
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(q('info-phone-input')).toBeNull();
    expect(q('info-phone')?.textContent).toBe('+4930111111');
    expect(q('info-error')?.textContent).toMatch(/^phone must be an international number/);
    expect(contactsApi.calls.filter((c) => c.startsWith('patch 30'))).toHaveLength(1);

    // Esc: nothing is sent.
    await act(async () => q('info-email')!.click());
    await act(async () => type(q<HTMLInputElement>('info-email-input')!, 'ada@example.com'));
    await act(async () => key(q('info-email-input')!, 'Escape'));
    expect(q('info-email-input')).toBeNull();
    expect(contactsApi.calls.filter((c) => c.startsWith('patch 30'))).toHaveLength(1);

    // Note name: saved on Enter, and the chat row follows.
    await act(async () => q('info-note-name')!.click());
    await act(async () => type(q<HTMLInputElement>('info-note-name-input')!, 'Ada (ACME)'));
    await act(async () => {
      key(q('info-note-name-input')!, 'Enter');
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(contactsApi.calls.filter((c) => c.startsWith('patch 30'))).toEqual([
      'patch 30 {"phone":"030 1234"}',
      'patch 30 {"note_name":"Ada (ACME)"}',
    ]);
    expect(q('info-note-name')?.textContent).toBe('Ada (ACME)');
    expect(q('chat-item-name')?.textContent).toBe('visitor-3 Ada (ACME)');
  });

  it('adds and removes labels and session tags', async () => {
    const { controller, contactsApi } = await mount();
    await openChat(controller);
    const labels = q('info-labels')!;
    expect([...labels.querySelectorAll('.chip')].map((c) => c.firstChild?.textContent)).toEqual(['vip']);
    await act(async () => type(q<HTMLInputElement>('info-label-add')!, ' b2b '));
    await act(async () => {
      key(q('info-label-add')!, 'Enter');
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(contactsApi.contactsById.get(30)!.labels).toEqual(['vip', 'b2b']);
    expect(q<HTMLInputElement>('info-label-add')!.value).toBe('');
    await act(async () => {
      (labels.querySelector('[aria-label="Remove label vip"]') as HTMLButtonElement).click();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(contactsApi.contactsById.get(30)!.labels).toEqual(['b2b']);

    const select = q<HTMLSelectElement>('info-tag-add')!;
    expect([...select.options].map((o) => o.textContent)).toEqual(['+ tag', 'Billing', 'Bug']);
    await act(async () => {
      select.value = '2';
      select.dispatchEvent(new Event('change', { bubbles: true }));
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(contactsApi.calls).toContain('set tags 3 2');
    const tag = q('info-tag')!;
    expect(tag.textContent).toContain('Bug');
    // A colour that is not #rrggbb never reaches the markup; no inline styles anywhere.
    expect(tag.querySelector('circle')?.getAttribute('fill')).toBe('#888888');
    expect(dom.host.querySelector('[style]')).toBeNull();
    // Another agent changes the tags.
    await act(async () => FakeWebSocket.last.receive({ type: 'session_tags', session_id: 3, tags: [] }));
    expect(q('info-tag')).toBeNull();
  });

  it('updates every place from a contact frame', async () => {
    const { controller } = await mount(true);
    await openChat(controller);
    const row = () => dom.host.querySelector('[data-testid="contact-row"][data-contact-id="30"]')!;
    expect(q('contact-phone', row())?.textContent).toBe('+4930111111');
    await act(async () =>
      FakeWebSocket.last.receive({
        type: 'contact',
        contact: makeContact({ id: 30, name: 'visitor-3', note_name: 'Grace', phone: '+4930222222', labels: ['b2b'], updated_at: '2026-11-24T12:00:00Z' }),
      }),
    );
    expect(q('chat-item-name')?.textContent).toBe('visitor-3 Grace');
    expect(q('info-note-name')?.textContent).toBe('Grace');
    expect(q('info-phone')?.textContent).toBe('+4930222222');
    expect(q('contact-note-name', row())?.textContent).toBe('Grace');
    expect(q('contact-phone', row())?.textContent).toBe('+4930222222');
    expect(row().textContent).toContain('b2b');
  });

  it('chat-list settings: note name first and visitor labels, saved on toggle', async () => {
    const { controller, contactsApi } = await mount();
    await act(async () => {
      controller.dispatch({ type: 'customer', action: { type: 'contact', contact: makeContact({ id: 30, name: 'visitor-3', note_name: 'Ada', labels: ['vip'], updated_at: '2026-11-24T12:00:00Z' }) } });
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(q('chat-item-name')?.textContent).toBe('visitor-3 Ada');
    expect(q('chat-item-labels')).toBeNull();
    await act(async () => q('chatlist-settings')!.click());
    await act(async () => {
      q('pref-note-name-first')!.click();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(q('chat-item-name')?.textContent).toBe('Ada visitor-3');
    await act(async () => {
      q('pref-show-labels')!.click();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(q('chat-item-labels')?.textContent).toBe('vip');
    expect(contactsApi.prefs).toEqual({ show_visitor_labels: true, note_name_first: true });
    expect(q<HTMLInputElement>('pref-show-labels')!.checked).toBe(true);
  });

  it('Contacts page: search and note-name filter, editing a row', async () => {
    const { contactsApi } = await mount(true);
    contactsApi.put(makeContact({ id: 31, name: 'bob', note_name: 'Bobby' }));
    await act(async () => type(q<HTMLInputElement>('contacts-note-filter')!, 'bob'));
    await act(async () => vi.advanceTimersByTimeAsync(300));
    const rows = () => [...dom.host.querySelectorAll('[data-testid="contact-row"]')].map((r) => r.getAttribute('data-contact-id'));
    expect(rows()).toEqual(['31']);
    const row = dom.host.querySelector('[data-testid="contact-row"]')!;
    await act(async () => q('contact-email', row)!.click());
    await act(async () => type(q<HTMLInputElement>('contact-email-input', row)!, 'bob@example.com'));
    await act(async () => {
      q('contact-email-input', row)!.blur();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(contactsApi.contactsById.get(31)!.email).toBe('bob@example.com');
    expect(q('contact-email', row)?.textContent).toBe('bob@example.com');
    await act(async () => type(q<HTMLInputElement>('contacts-note-filter')!, ''));
    await act(async () => type(q<HTMLInputElement>('contacts-search')!, 'visitor'));
    await act(async () => vi.advanceTimersByTimeAsync(300));
    expect(rows()).toEqual(['30']);
  });
});
