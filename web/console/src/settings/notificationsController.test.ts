import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/http';
import { FakeNotificationsApi, makeOutboxRow } from '../testing/fakeApi';
import { NotificationsController } from './notificationsController';

const instantPoll = { sleep: async () => undefined, intervalMs: 1, timeoutMs: 1000 };

async function started(api: FakeNotificationsApi, canManage = true, onUnauthenticated = () => undefined) {
  const c = new NotificationsController({ api, projectId: 1, canManage, onUnauthenticated, poll: instantPoll });
  await c.start();
  return c;
}

describe('NotificationsController', () => {
  it('loads the settings (and the undelivered e-mails for admins)', async () => {
    const api = new FakeNotificationsApi();
    api.settings = { email_enabled: true, wait_secs: 120, include_bot_hosted: true, email_configured: true };
    api.outboxRows.set(4, makeOutboxRow({ id: 4, state: 'failed', last_error: '550' }));
    const c = await started(api);
    const s = c.getState();
    expect(s.load.kind).toBe('ready');
    expect(s.form).toEqual({ emailEnabled: true, minutes: '2', includeBotHosted: true });
    expect(s.dirty).toBe(false);
    expect(s.failedItems.map((r) => r.id)).toEqual([4]);
    expect(api.calls).toEqual(['get 1', 'outbox failed']);
  });

  it('members without project.manage only read: no outbox, edits and saves are ignored', async () => {
    const api = new FakeNotificationsApi();
    const c = await started(api, false);
    c.edit({ emailEnabled: true });
    await c.save();
    await c.sendTest();
    expect(c.getState().form.emailEnabled).toBe(false);
    expect(api.calls).toEqual(['get 1']);
  });

  it('saves only what changed and shows the saved state', async () => {
    const api = new FakeNotificationsApi();
    const c = await started(api);
    const changes: number[] = [];
    c.subscribe(() => changes.push(1));
    c.edit({ emailEnabled: true });
    c.edit({ minutes: '3' });
    expect(c.getState().dirty).toBe(true);
    await c.save();
    expect(api.calls).toContain('patch 1 {"email_enabled":true,"wait_secs":180}');
    const s = c.getState();
    expect(s.saveResult).toEqual({ kind: 'saved' });
    expect(s.saved).toMatchObject({ email_enabled: true, wait_secs: 180 });
    expect(s.dirty).toBe(false);
    expect(changes.length).toBeGreaterThan(2);
    // Editing again hides the confirmation.
    c.edit({ includeBotHosted: true });
    expect(c.getState().saveResult).toBeNull();
  });

  it('refuses an invalid waiting time without a request', async () => {
    const api = new FakeNotificationsApi();
    const c = await started(api);
    c.edit({ minutes: '0' });
    await c.save();
    expect(c.getState().saveResult).toMatchObject({ kind: 'error', message: expect.stringContaining('from 1 to 10080') });
    expect(api.calls.some((x) => x.startsWith('patch'))).toBe(false);
  });

  it("shows the server's message when the save is refused, keeping the form", async () => {
    const api = new FakeNotificationsApi();
    const c = await started(api);
    api.failNext.updateNotificationSettings = new ApiError(403, 'forbidden', 'you lack the permission project.manage');
    c.edit({ emailEnabled: true });
    await c.save();
    const s = c.getState();
    expect(s.saveResult).toEqual({ kind: 'error', message: 'you lack the permission project.manage' });
    expect(s.form.emailEnabled).toBe(true);
    expect(s.saved?.email_enabled).toBe(false);
    expect(s.saving).toBe(false);
  });

  it('sends a test e-mail and follows it until it is sent', async () => {
    const api = new FakeNotificationsApi();
    api.testStates = [{ state: 'pending' }, { state: 'pending', last_error: 'temporary failure: 421' }, { state: 'sent' }];
    const c = await started(api);
    const kinds: string[] = [];
    c.subscribe(() => kinds.push(c.getState().test.kind));
    await c.sendTest();
    expect(c.getState().test).toMatchObject({ kind: 'done', timedOut: false, row: { state: 'sent' } });
    expect(kinds[0]).toBe('sending');
    expect(kinds).toContain('pending');
    expect(api.calls.filter((x) => x.startsWith('poll'))).toHaveLength(3);
  });

  it('a failed test e-mail shows its error and refreshes the undelivered list', async () => {
    const api = new FakeNotificationsApi();
    api.testStates = [{ state: 'failed', last_error: 'permanent failure: 550 mailbox unavailable' }];
    const c = await started(api);
    await c.sendTest();
    await vi.waitFor(() => expect(c.getState().failedItems).toHaveLength(1));
    expect(c.getState().test).toMatchObject({ kind: 'done', row: { state: 'failed', last_error: 'permanent failure: 550 mailbox unavailable' } });
  });

  it('a test e-mail still pending at the time limit says so', async () => {
    const api = new FakeNotificationsApi();
    api.testStates = [{ state: 'pending', last_error: 'connection refused' }];
    let t = 0;
    const c = new NotificationsController({
      api,
      projectId: 1,
      canManage: true,
      poll: { sleep: async (ms) => void (t += ms), now: () => t, intervalMs: 500, timeoutMs: 30_000 },
    });
    await c.start();
    await c.sendTest();
    expect(c.getState().test).toMatchObject({ kind: 'done', timedOut: true, row: { state: 'pending' } });
  });

  it('without SMTP the test e-mail reports the server error', async () => {
    const api = new FakeNotificationsApi();
    api.settings.email_configured = false;
    const c = await started(api);
    await c.sendTest();
    expect(c.getState().test).toEqual({ kind: 'error', message: 'e-mail is not configured on this server' });
  });

  it('a lost session sends the app back to the login page', async () => {
    const api = new FakeNotificationsApi();
    api.failNext.notificationSettings = new ApiError(401, 'unauthenticated', 'log in');
    const onUnauthenticated = vi.fn();
    const c = await started(api, true, onUnauthenticated);
    expect(onUnauthenticated).toHaveBeenCalledTimes(1);
    expect(c.getState().load.kind).toBe('loading');
  });

  it('a load error can be retried', async () => {
    const api = new FakeNotificationsApi();
    api.failNext.notificationSettings = new ApiError(0, 'network', 'The server cannot be reached.');
    const c = await started(api);
    expect(c.getState().load).toEqual({ kind: 'error', message: 'The server cannot be reached.' });
    await c.load();
    expect(c.getState().load.kind).toBe('ready');
  });

  it('ignores answers that arrive after the page was left', async () => {
    const api = new FakeNotificationsApi();
    api.testStates = [{ state: 'pending' }, { state: 'sent' }];
    const c = await started(api);
    const p = c.sendTest();
    c.stop();
    await p;
    expect(c.getState().test.kind).not.toBe('done');
  });
});
