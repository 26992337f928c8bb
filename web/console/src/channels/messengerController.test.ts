import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/http';
import type { ServerFrame } from '../realtime/protocol';
import { FakeChannelsApi, makeChannel, makeJob } from '../testing/fakeChannels';
import { MessengerController } from './messengerController';
import { isNewer, jobCounters, jobStateLabel, mergeJob } from './syncJobs';

function framesHub() {
  const listeners = new Set<(f: ServerFrame) => void>();
  return {
    subscribe: (l: (f: ServerFrame) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    emit: (f: ServerFrame) => {
      for (const l of listeners) l(f);
    },
    get size() {
      return listeners.size;
    },
  };
}

async function started(api: FakeChannelsApi, hub = framesHub()) {
  const c = new MessengerController({ api, projectId: 1, subscribeFrames: hub.subscribe });
  await c.start();
  return { c, hub };
}

const jobFrame = (job: ReturnType<typeof makeJob>): ServerFrame => ({ type: 'job', job });

describe('sync progress', () => {
  it('keeps the newest view of a job, whatever order views arrive in', () => {
    const a = makeJob({ id: 1, channel_id: 7, conversations_done: 10, updated_at: '2026-11-24T10:00:02Z' });
    const older = makeJob({ id: 1, channel_id: 7, conversations_done: 5, updated_at: '2026-11-24T10:00:01Z' });
    const next = makeJob({ id: 2, channel_id: 7, updated_at: '2026-11-24T09:00:00Z' });
    let jobs = mergeJob({}, a);
    expect(mergeJob(jobs, older)).toBe(jobs);
    jobs = mergeJob(jobs, next);
    expect(jobs[7].id).toBe(2);
    // Same instant: a finished state wins over running.
    expect(isNewer({ ...a, state: 'done' }, a)).toBe(true);
    expect(isNewer(a, { ...a, state: 'done' })).toBe(false);
  });

  it('reads its counters', () => {
    const j = makeJob({ id: 1, channel_id: 7, scope: 'all', conversations_done: 1200, contacts_imported: 1, messages_imported: 2360, errors: 2 });
    expect(jobCounters(j)).toBe('1,200 conversations · 1 contact imported · 2,360 messages imported · 2 errors');
    expect(jobCounters({ ...j, errors: 0 })).not.toContain('error');
    expect(jobStateLabel(j)).toBe('Syncing (all conversations)');
    expect(jobStateLabel({ ...j, scope: 'recent', state: 'done' })).toBe('Done (recent 100)');
  });
});

describe('MessengerController', () => {
  it('lists the Messenger channels with their latest sync', async () => {
    const api = new FakeChannelsApi();
    api.list = [makeChannel({ id: 1, kind: 'web', messenger: null }), makeChannel({ id: 3 }), makeChannel({ id: 2 })];
    api.jobs.set(3, makeJob({ id: 9, channel_id: 3, state: 'done', contacts_imported: 4 }));
    const { c } = await started(api);
    const s = c.getState();
    expect(s.load.kind).toBe('ready');
    expect(s.channels.map((x) => x.id)).toEqual([2, 3]);
    expect(s.jobs[3]?.id).toBe(9);
    expect(s.jobs[2]).toBeUndefined();
    expect(s.sync[2]).toBeUndefined(); // a 404 is "never synced", not an error
  });

  it('connects a Page: secrets go in the POST, errors come back with the server message', async () => {
    const api = new FakeChannelsApi();
    const { c } = await started(api);
    c.openNew();
    c.edit({ pageId: '42', pageName: 'Acme', pageToken: 'tok', appId: '555', appSecret: 'sec', verifyToken: 'ver' });
    api.failNext.connectMessenger = new ApiError(409, 'conflict', 'this Page is already connected to a project');
    await c.save();
    expect(c.getState().editor).toMatchObject({ mode: 'new', saving: false, error: 'this Page is already connected to a project' });
    // The typed form stays, so the admin can fix it.
    expect(c.getState().editor?.form.pageToken).toBe('tok');
    await c.save();
    const s = c.getState();
    expect(s.editor).toBeNull();
    expect(s.channels).toHaveLength(1);
    expect(s.notice?.message).toBe('Connected Acme.');
    expect(api.calls.filter((x) => x.startsWith('connect'))[1]).toContain('"page_access_token":"tok"');
  });

  it('refuses an incomplete form without a request', async () => {
    const api = new FakeChannelsApi();
    const { c } = await started(api);
    c.openNew();
    c.edit({ pageId: '42', pageName: 'Acme' });
    await c.save();
    expect(c.getState().editor?.error).toContain('Page access token');
    expect(api.calls.some((x) => x.startsWith('connect'))).toBe(false);
  });

  it('edits a Page without sending secrets left empty', async () => {
    const api = new FakeChannelsApi();
    api.list = [makeChannel({ id: 5 })];
    const { c } = await started(api);
    c.openEdit(5);
    const e = c.getState().editor!;
    expect(e.form.pageToken + e.form.appSecret + e.form.verifyToken).toBe('');
    c.edit({ humanAgent: true });
    c.edit({ tagDraft: 'account_notice' });
    c.addTag();
    await c.save();
    expect(api.calls).toContain('patch 5 {"human_agent":true,"allowed_tags":["ACCOUNT_NOTICE"]}');
    expect(c.getState().channels[0].messenger?.human_agent).toBe(true);
    // Saving an unchanged form sends nothing.
    c.openEdit(5);
    await c.save();
    expect(api.calls.filter((x) => x.startsWith('patch'))).toHaveLength(1);
    expect(c.getState().notice?.message).toBe('Nothing changed.');
  });

  it('syncs recent conversations and follows job frames live', async () => {
    const api = new FakeChannelsApi();
    api.list = [makeChannel({ id: 5 })];
    const { c, hub } = await started(api);
    await c.syncRecent(5);
    expect(api.calls).toContain('sync 5 recent false');
    const job = c.getState().jobs[5];
    expect(job.state).toBe('queued');
    hub.emit(jobFrame({ ...job, state: 'running', conversations_done: 40, contacts_imported: 38, messages_imported: 700, updated_at: '2026-11-24T10:00:05Z' }));
    expect(c.getState().jobs[5]).toMatchObject({ state: 'running', conversations_done: 40, contacts_imported: 38 });
    // A late, older frame changes nothing.
    hub.emit(jobFrame({ ...job, state: 'running', conversations_done: 20, updated_at: '2026-11-24T10:00:03Z' }));
    expect(c.getState().jobs[5].conversations_done).toBe(40);
    // While it runs, no second sync starts.
    await c.syncRecent(5);
    expect(api.calls.filter((x) => x.startsWith('sync'))).toHaveLength(1);
    hub.emit(jobFrame({ ...job, state: 'done', conversations_done: 100, contacts_imported: 97, messages_imported: 1940, errors: 1, last_error: 'profile 551', updated_at: '2026-11-24T10:01:00Z' }));
    expect(c.getState().jobs[5]).toMatchObject({ state: 'done', errors: 1, last_error: 'profile 551' });
  });

  it('"Sync all" asks first, then sends confirm: true; a refusal is shown', async () => {
    const api = new FakeChannelsApi();
    api.list = [makeChannel({ id: 5 })];
    const { c } = await started(api);
    await c.confirmSyncAll(5); // nothing was asked yet
    expect(api.calls.some((x) => x.startsWith('sync'))).toBe(false);
    c.askSyncAll(5);
    expect(c.syncState(5).confirmAll).toBe(true);
    c.dismissSyncAll(5);
    expect(c.syncState(5).confirmAll).toBe(false);
    c.askSyncAll(5);
    api.failNext.startSync = new ApiError(409, 'conflict', 'a contact sync is already running for this Page');
    await c.confirmSyncAll(5);
    expect(c.syncState(5)).toMatchObject({ busy: null, confirmAll: false, error: 'a contact sync is already running for this Page' });
    c.askSyncAll(5);
    await c.confirmSyncAll(5);
    expect(api.calls.filter((x) => x.startsWith('sync'))).toEqual(['sync 5 all true', 'sync 5 all true']);
    expect(c.getState().jobs[5].scope).toBe('all');
  });

  it('cancels a running sync', async () => {
    const api = new FakeChannelsApi();
    api.list = [makeChannel({ id: 5 })];
    api.jobs.set(5, makeJob({ id: 4, channel_id: 5, state: 'running' }));
    const { c } = await started(api);
    await c.cancelSync(5);
    expect(api.calls).toContain('cancel 4');
    expect(c.getState().jobs[5].state).toBe('cancelled');
  });

  it('stops following frames when stopped', async () => {
    const api = new FakeChannelsApi();
    api.list = [makeChannel({ id: 5 })];
    const { c, hub } = await started(api);
    expect(hub.size).toBe(1);
    c.stop();
    expect(hub.size).toBe(0);
    hub.emit(jobFrame(makeJob({ id: 1, channel_id: 5 })));
    expect(c.getState().jobs[5]).toBeUndefined();
  });
});
