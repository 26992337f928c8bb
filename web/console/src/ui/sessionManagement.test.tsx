// The session management page and Settings › Team against fake APIs and the real inbox
// controller (fake socket): the test ids the browser tests use, live counts, server errors.
import { act } from 'react';
import { describe, expect, it, vi } from 'vitest';
import type { Member } from '../api/types';
import { InboxController } from '../inbox/inboxController';
import { FakeApi, MemoryStorage } from '../testing/fakeApi';
import { FakeReportsApi, FakeTeamApi, makeRecord } from '../testing/fakeReports';
import { FakeWebSocket, makeMessage, makeSession, messageFrame } from '../testing/fakes';
import { InboxContext } from './inboxContext';
import { SessionManagementPage } from './SessionManagementPage';
import { TeamSettingsPanel } from './TeamSettingsPanel';
import { reactTestRoot } from '../testing/reactRoot';

const dom = reactTestRoot({ now: '2026-11-24T10:05:00Z' });

const q = <T extends HTMLElement = HTMLElement>(id: string, within: ParentNode = dom.host) => within.querySelector<T>(`[data-testid="${id}"]`);
const qa = (id: string) => [...dom.host.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];

const members: Member[] = [
  { user_id: 1, email: 'owner@example.com', display_name: 'Owner', role_id: 1, role_name: 'owner', joined_at: '2026-11-01T00:00:00Z' },
  { user_id: 2, email: 'ann@example.com', display_name: 'Ann', role_id: 3, role_name: 'agent', joined_at: '2026-11-01T00:00:00Z' },
];

function select(el: HTMLSelectElement, value: string) {
  el.value = value;
  el.dispatchEvent(new Event('change', { bubbles: true }));
}

describe('session management page', () => {
  async function mount(reports: FakeReportsApi, onOpenChat = vi.fn()) {
    const controller = new InboxController({
      api: new FakeApi(),
      projectId: 1,
      viewer: { userId: 1, dataScope: 'all' },
      storage: new MemoryStorage(),
      socketUrl: 'ws://test',
      socketOptions: { createSocket: (url) => new FakeWebSocket(url), random: () => 0.5 },
    });
    await act(async () => {
      controller.start();
      dom.root.render(
        <InboxContext.Provider value={{ controller, projectId: 1, userId: 1, members }}>
          <SessionManagementPage api={reports} onOpenChat={onOpenChat} onUnauthenticated={() => undefined} />
        </InboxContext.Provider>,
      );
      FakeWebSocket.last.accept();
      await vi.advanceTimersByTimeAsync(0);
    });
    return { controller, onOpenChat };
  }

  it('shows the summary and rows, counts live, and opens a chat', async () => {
    const api = new FakeReportsApi();
    api.summary_ = { ongoing: 2, ended: 5, total: 7 };
    api.records_ = [
      makeRecord({ id: 5, contact: { id: 50, name: 'visitor-5', note_name: 'VIP <b>Jane</b>', phone: '+1 555 0100', email: null }, messages: { total: 3, visitor: 2, agent: 1 }, first_response_secs: 185 }),
      makeRecord({ id: 6, status: 'unassigned', receptionist: null, received_at: null, first_response_secs: null }),
    ];
    const { onOpenChat } = await mount(api);
    expect(q('sm-ongoing')!.textContent).toBe('2');
    expect(q('sm-ended')!.textContent).toBe('5');
    expect(q('sm-total')!.textContent).toBe('7');
    expect(q('sm-tab-ongoing')!.getAttribute('aria-selected')).toBe('true');
    const rows = qa('sm-row');
    expect(rows.map((r) => r.dataset.sessionId)).toEqual(['5', '6']);
    expect(rows[0].textContent).toContain('VIP <b>Jane</b>');
    expect(rows[0].querySelector('b')).toBeNull();
    expect(rows[0].textContent).toContain('visitor-5');
    expect(rows[0].textContent).toContain('+1 555 0100');
    expect(rows[0].textContent).toContain('Owner');
    expect(q('sm-first-response', rows[0])!.textContent).toBe('3m 05s');
    expect(rows[1].textContent).toContain('In queue');
    expect(q('sm-export')!.getAttribute('href')).toBe('/api/projects/1/reports/sessions.csv?status=ongoing');

    // Live: a visitor message and an agent reply arrive on the socket.
    await act(async () => {
      FakeWebSocket.last.receive(messageFrame(makeMessage({ session_id: 5, seq: 4, sender: 'visitor' })));
      FakeWebSocket.last.receive(messageFrame(makeMessage({ session_id: 5, seq: 5, sender: 'agent', sender_user_id: 1 })));
    });
    const row5 = qa('sm-row')[0];
    expect(q('sm-count-total', row5)!.textContent).toBe('5');
    expect(q('sm-count-visitor', row5)!.textContent).toBe('3');
    expect(q('sm-count-agent', row5)!.textContent).toBe('2');

    // The queued session is taken by Ann; the summary follows (debounced).
    api.summary_ = { ongoing: 2, ended: 5, total: 7 };
    await act(async () => {
      FakeWebSocket.last.receive({ type: 'session', session: makeSession({ id: 6, status: 'assigned', assignee_id: 2, received_at: '2026-11-24T10:04:00Z', last_seq: 1, message_count: 1, visitor_message_count: 1 }) });
    });
    expect(qa('sm-row')[1].textContent).toContain('Ann');
    api.summary_ = { ongoing: 1, ended: 6, total: 7 };
    await act(async () => {
      FakeWebSocket.last.receive({ type: 'session', session: makeSession({ id: 5, status: 'ended', assignee_id: 1, last_seq: 6 }) });
      await vi.advanceTimersByTimeAsync(1000);
    });
    expect(qa('sm-row').map((r) => r.dataset.sessionId)).toEqual(['6']);
    expect(q('sm-ongoing')!.textContent).toBe('1');
    expect(q('sm-ended')!.textContent).toBe('6');

    // A contact edit elsewhere renames the row.
    await act(async () => {
      FakeWebSocket.last.receive({ type: 'contact', contact: { id: 60, project_id: 1, channel_id: 1, external_id: 'v6', name: 'Visitor 6', note_name: 'Bob', phone: null, email: 'bob@example.com', labels: [], created_at: '2026-11-24T10:00:00Z', updated_at: '2026-11-24T10:05:00Z' } });
    });
    expect(qa('sm-row')[0].textContent).toContain('Bob');
    expect(qa('sm-row')[0].textContent).toContain('bob@example.com');

    await act(async () => {
      qa('sm-row')[0].click();
    });
    expect(onOpenChat).toHaveBeenCalledWith(6);
  });

  it('filters by receptionist and switches to the Ended list', async () => {
    const api = new FakeReportsApi();
    api.records_ = [makeRecord({ id: 5 }), makeRecord({ id: 4, status: 'ended', ended_at: '2026-11-24T09:00:00Z' })];
    await mount(api);
    const rec = q<HTMLSelectElement>('sm-receptionist')!;
    expect([...rec.options].map((o) => o.textContent)).toEqual(['Anyone', 'Me', 'Owner', 'Ann']);
    await act(async () => {
      select(rec, '2');
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(api.calls).toContain('records receptionist=2&status=ongoing&limit=50');
    expect(api.calls).toContain('summary receptionist=2');
    expect(q('sm-export')!.getAttribute('href')).toBe('/api/projects/1/reports/sessions.csv?receptionist=2&status=ongoing');
    await act(async () => {
      q('sm-tab-ended')!.click();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(qa('sm-row').map((r) => r.dataset.sessionId)).toEqual(['4']);
    expect(q('sm-tab-ended')!.getAttribute('aria-selected')).toBe('true');
  });
});

describe('team settings', () => {
  async function mount(api: FakeTeamApi, permissions: string[]) {
    await act(async () => {
      dom.root.render(<TeamSettingsPanel api={api} projectId={1} userId={1} permissions={permissions} onUnauthenticated={() => undefined} />);
      await vi.advanceTimersByTimeAsync(0);
    });
  }
  const OWNER = ['project.manage', 'team.manage', 'channels.manage', 'automation.manage', 'contacts.manage', 'session_tags.manage'];

  it('adds a member, changes roles and shows the last-owner refusal', async () => {
    const api = new FakeTeamApi();
    await mount(api, OWNER);
    expect(qa('team-member-row').map((r) => r.dataset.userId)).toEqual(['1']);
    const type = (id: string, v: string) => {
      const el = q<HTMLInputElement>(id)!;
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(el, v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    };
    await act(async () => {
      type('team-add-email', 'ann@example.com');
      type('team-add-name', 'Ann');
      type('team-add-password', 'secret-pass');
      select(q<HTMLSelectElement>('team-add-role')!, 'agent');
    });
    await act(async () => {
      q('team-add-submit')!.click();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(api.calls[0]).toBe('add {"email":"ann@example.com","display_name":"Ann","role":"agent","password":"secret-pass"}');
    expect(qa('team-member-row').map((r) => r.dataset.userId)).toEqual(['1', '10']);
    expect(q('team-notice')!.textContent).toContain('Ann was added as agent');

    // Demoting the only owner: the server says no, and the page says why.
    const ownerRow = qa('team-member-row')[0];
    await act(async () => {
      select(q<HTMLSelectElement>('team-role-select', ownerRow)!, '2');
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(q('team-error')!.textContent).toContain("the project's last owner cannot be demoted");
    expect(q<HTMLSelectElement>('team-role-select', qa('team-member-row')[0])!.value).toBe('1');

    // Remove asks once more, then goes.
    const annRow = qa('team-member-row')[1];
    await act(async () => {
      q('team-remove', annRow)!.click();
    });
    expect(api.calls.filter((c) => c.startsWith('remove'))).toEqual([]);
    await act(async () => {
      q('team-remove', qa('team-member-row')[1])!.click();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(api.calls).toContain('remove 10');
    expect(qa('team-member-row')).toHaveLength(1);
  });

  it('edits a role’s permissions and scope, and creates and deletes a custom role', async () => {
    const api = new FakeTeamApi();
    await mount(api, OWNER);
    const agentRow = qa('role-row').find((r) => r.dataset.roleId === '3')!;
    // The owner role has no edit button.
    expect(q('role-edit', qa('role-row')[0])).toBeNull();
    await act(async () => {
      q('role-edit', agentRow)!.click();
    });
    expect(q<HTMLInputElement>('perm-session_tags.manage')!.checked).toBe(false);
    expect(q<HTMLInputElement>('scope-all')!.checked).toBe(true);
    expect(q<HTMLInputElement>('role-name')!.disabled).toBe(true);
    await act(async () => {
      q('perm-session_tags.manage')!.click();
      q('perm-contacts.manage')!.click();
      q('scope-own')!.click();
    });
    await act(async () => {
      q('role-save')!.click();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(api.calls).toContain('patch role 3 {"permissions":["contacts.manage","session_tags.manage"],"data_scope":"own"}');
    expect(q('role-editor')).toBeNull();
    expect(qa('role-row').find((r) => r.dataset.roleId === '3')!.textContent).toContain('Own sessions');

    await act(async () => {
      q('role-new')!.click();
    });
    await act(async () => {
      const el = q<HTMLInputElement>('role-name')!;
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(el, 'QA');
      el.dispatchEvent(new Event('input', { bubbles: true }));
      q('perm-team.manage')!.click();
    });
    await act(async () => {
      q('role-save')!.click();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(api.calls).toContain('create role {"name":"QA","permissions":["team.manage"],"data_scope":"own"}');
    const qa_ = qa('role-row').find((r) => r.textContent?.includes('QA'))!;
    await act(async () => {
      q('role-delete', qa_)!.click();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(qa('role-row').some((r) => r.textContent?.includes('QA'))).toBe(false);
  });

  it('is read-only without team.manage', async () => {
    const api = new FakeTeamApi();
    await mount(api, []);
    expect(q('team-readonly')).not.toBeNull();
    expect(q<HTMLSelectElement>('team-role-select')!.disabled).toBe(true);
    expect(q('team-remove')).toBeNull();
    expect(q('team-add-email')).toBeNull();
    expect(q('role-new')).toBeNull();
    expect(q('role-delete')).toBeNull();
    await act(async () => {
      q('role-edit')!.click();
    });
    expect(q<HTMLInputElement>('perm-team.manage')!.disabled).toBe(true);
    expect(q<HTMLInputElement>('scope-own')!.disabled).toBe(true);
    expect(q('role-save')).toBeNull();
  });
});
