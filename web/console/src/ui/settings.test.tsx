// The notification settings page against a fake API: the test ids the browser tests use,
// read-only members, a server without SMTP, the test e-mail and the undelivered list.
import { act } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { FakeNotificationsApi, makeOutboxRow } from '../testing/fakeApi';
import { NOT_CONFIGURED_TEXT, NotificationSettingsPanel } from './NotificationSettingsPanel';
import { TopBar } from './TopBar';
import { reactTestRoot } from '../testing/reactRoot';

const dom = reactTestRoot();

async function mount(api: FakeNotificationsApi, canManage = true) {
  await act(async () => {
    dom.root.render(<NotificationSettingsPanel api={api} projectId={1} userEmail="owner@example.com" canManage={canManage} onUnauthenticated={() => undefined} />);
    await vi.advanceTimersByTimeAsync(0);
  });
}

const q = <T extends Element = HTMLElement>(id: string) => dom.host.querySelector<T & HTMLElement>(`[data-testid="${id}"]`);

/** Sets an input's value the way React notices (its value setter is tracked). */
function type(input: HTMLInputElement, value: string) {
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
  setter.call(input, value);
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

describe('notification settings page', () => {
  it('shows the stored settings, saves changes and confirms', async () => {
    const api = new FakeNotificationsApi();
    api.settings = { email_enabled: false, wait_secs: 600, include_bot_hosted: false, email_configured: true };
    await mount(api);
    const enabled = q<HTMLInputElement>('notify-email-enabled')!;
    const minutes = q<HTMLInputElement>('notify-wait-minutes')!;
    expect(enabled.checked).toBe(false);
    expect(enabled.getAttribute('role')).toBe('switch');
    expect(minutes.value).toBe('10');
    expect(q<HTMLButtonElement>('notify-save')!.disabled).toBe(true);
    expect(q('notify-not-configured')).toBeNull();

    await act(async () => {
      enabled.click();
      type(minutes, '3');
    });
    expect(q<HTMLButtonElement>('notify-save')!.disabled).toBe(false);
    await act(async () => {
      q('notify-save')!.click();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(api.calls).toContain('patch 1 {"email_enabled":true,"wait_secs":180}');
    expect(q('notify-saved')?.textContent).toContain('Saved');
    expect(q('notify-error')).toBeNull();
  });

  it('shows why a value is refused', async () => {
    const api = new FakeNotificationsApi();
    await mount(api);
    await act(async () => {
      type(q<HTMLInputElement>('notify-wait-minutes')!, '20000');
    });
    await act(async () => {
      q('notify-save')!.click();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(q('notify-error')?.textContent).toContain('from 1 to 10080 minutes');
    expect(q('notify-saved')).toBeNull();
  });

  it('sends a test e-mail and shows the result', async () => {
    const api = new FakeNotificationsApi();
    api.testStates = [{ state: 'pending' }, { state: 'sent' }];
    await mount(api);
    await act(async () => {
      q('notify-test')!.click();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(q('notify-test-result')?.textContent).toMatch(/^Sending/);
    expect(q<HTMLButtonElement>('notify-test')!.disabled).toBe(true);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(2000);
    });
    expect(q('notify-test-result')?.textContent).toMatch(/^Sent to owner@example.com/);
    expect(q('notify-test-result')?.dataset.state).toBe('sent');
    expect(q<HTMLButtonElement>('notify-test')!.disabled).toBe(false);
  });

  it('lists undelivered e-mails with their error', async () => {
    const api = new FakeNotificationsApi();
    api.outboxRows.set(9, makeOutboxRow({ id: 9, state: 'failed', to: 'ann@example.com', subject: 'Ada has waited 5 minutes', last_error: 'permanent failure: 550 <b>x</b>' }));
    api.outboxRows.set(10, makeOutboxRow({ id: 10, state: 'sent' }));
    await mount(api);
    const items = [...dom.host.querySelectorAll('[data-testid="notify-failed-item"]')];
    expect(items).toHaveLength(1);
    expect(items[0].textContent).toContain('ann@example.com');
    expect(items[0].textContent).toContain('Ada has waited 5 minutes');
    expect(items[0].textContent).toContain('permanent failure: 550 <b>x</b>');
    expect(items[0].querySelector('b')).toBeNull();
  });

  it('without SMTP says so and disables the test button', async () => {
    const api = new FakeNotificationsApi();
    api.settings.email_configured = false;
    await mount(api);
    expect(q('notify-not-configured')?.textContent).toContain(NOT_CONFIGURED_TEXT);
    expect(q<HTMLButtonElement>('notify-test')!.disabled).toBe(true);
    // The settings themselves can still be chosen.
    expect(q<HTMLInputElement>('notify-email-enabled')!.disabled).toBe(false);
  });

  it('is read-only for members without project.manage', async () => {
    const api = new FakeNotificationsApi();
    api.settings = { email_enabled: true, wait_secs: 90, include_bot_hosted: true, email_configured: true };
    await mount(api, false);
    expect(q<HTMLInputElement>('notify-email-enabled')!.disabled).toBe(true);
    expect(q<HTMLInputElement>('notify-email-enabled')!.checked).toBe(true);
    expect(q<HTMLInputElement>('notify-wait-minutes')!.disabled).toBe(true);
    expect(q<HTMLInputElement>('notify-wait-minutes')!.value).toBe('1.5');
    expect(dom.host.textContent).toContain('Currently 1 minute 30 seconds');
    expect(q<HTMLInputElement>('notify-include-hosted')!.disabled).toBe(true);
    expect(q('notify-save')).toBeNull();
    expect(q('notify-test')).toBeNull();
    expect(q('notify-failed-list')).toBeNull();
    expect(q('notify-readonly')).not.toBeNull();
    expect(api.calls).toEqual(['get 1']);
  });
});

describe('top bar navigation', () => {
  const me = { user: { id: 1, email: 'owner@example.com', display_name: 'Owner' }, projects: [{ project: { id: 1, name: 'Demo' }, role: { name: 'owner', permissions: ['project.manage'], data_scope: 'all' as const } }] };

  it('marks the current page, follows plain clicks and shows unread chats on Inbox', async () => {
    const onNavigate = vi.fn();
    await act(async () => {
      dom.root.render(
        <TopBar me={me} membership={me.projects[0]} connection="open" view="settings" unread={3} onNavigate={onNavigate} onSwitchProject={() => undefined} onLogout={() => undefined} />,
      );
    });
    const settings = q<HTMLAnchorElement>('nav-settings')!;
    const inbox = q<HTMLAnchorElement>('nav-inbox')!;
    expect(settings.getAttribute('aria-current')).toBe('page');
    expect(settings.getAttribute('href')).toBe('/settings/notifications');
    expect(inbox.getAttribute('aria-current')).toBeNull();
    expect(inbox.textContent).toBe('Inbox3');
    const click = new MouseEvent('click', { bubbles: true, cancelable: true, button: 0 });
    await act(async () => {
      inbox.dispatchEvent(click);
    });
    expect(click.defaultPrevented).toBe(true);
    expect(onNavigate).toHaveBeenCalledWith('inbox');
    // A modified click is left to the browser (new tab).
    const ctrl = new MouseEvent('click', { bubbles: true, cancelable: true, button: 0, ctrlKey: true });
    await act(async () => {
      settings.dispatchEvent(ctrl);
    });
    expect(ctrl.defaultPrevented).toBe(false);
    expect(onNavigate).toHaveBeenCalledTimes(1);
  });

  it('shows Automation to members who manage automation or view its data, and no one else', async () => {
    for (const [permissions, shown] of [
      [['automation.view'], true],
      [['automation.manage'], true],
      [['contacts.manage'], false],
    ] as const) {
      const m = { project: { id: 1, name: 'Demo' }, role: { name: 'r', permissions: [...permissions], data_scope: 'all' as const } };
      await act(async () => {
        dom.root.render(<TopBar me={{ ...me, projects: [m] }} membership={m} connection="open" view="inbox" unread={0} onNavigate={() => undefined} onSwitchProject={() => undefined} onLogout={() => undefined} />);
      });
      expect(q('nav-automation') !== null).toBe(shown);
    }
  });
});
