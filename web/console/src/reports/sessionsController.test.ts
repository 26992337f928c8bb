import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/http';
import { FakeReportsApi, makeRecord } from '../testing/fakeReports';
import { makeMessage, makeSession } from '../testing/fakes';
import { Debouncer } from './debounce';
import { SessionsController } from './sessionsController';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-11-24T10:05:00Z'));
});
afterEach(() => vi.useRealTimers());

function make(api: FakeReportsApi, onUnauthenticated = () => undefined) {
  return new SessionsController({
    api,
    projectId: 1,
    viewer: () => ({ userId: 1, dataScope: 'all' }),
    members: () => [],
    onUnauthenticated,
    summaryDelayMs: 500,
    summaryMaxWaitMs: 2000,
  });
}

describe('debouncer', () => {
  it('fires once after quiet, but no later than the ceiling', () => {
    const run = vi.fn();
    const d = new Debouncer(run, 500, 2000);
    d.schedule();
    vi.advanceTimersByTime(400);
    d.schedule();
    vi.advanceTimersByTime(400);
    expect(run).not.toHaveBeenCalled();
    vi.advanceTimersByTime(100);
    expect(run).toHaveBeenCalledTimes(1);
    // A steady stream (every 300 ms) still fires at the 2 s ceiling.
    run.mockClear();
    for (let t = 0; t < 2100; t += 300) {
      d.schedule();
      vi.advanceTimersByTime(300);
    }
    expect(run).toHaveBeenCalledTimes(1);
    d.cancel();
  });
});

describe('session management controller', () => {
  it('loads the Ongoing list and the summary under the filter', async () => {
    const api = new FakeReportsApi();
    api.records_ = [makeRecord({ id: 5 }), makeRecord({ id: 4, status: 'ended' })];
    api.summary_ = { ongoing: 1, ended: 1, total: 2 };
    const c = make(api);
    await c.start();
    expect(c.getState().records.items.map((r) => r.id)).toEqual([5]);
    expect(c.getState().summary).toEqual({ ongoing: 1, ended: 1, total: 2 });
    expect(api.calls).toEqual(['records status=ongoing&limit=50', 'summary ']);
    c.edit({ receptionist: 'me' });
    await vi.advanceTimersByTimeAsync(0);
    expect(api.calls.slice(2)).toEqual(['records receptionist=me&status=ongoing&limit=50', 'summary receptionist=me']);
    expect(c.exportUrl).toBe('/api/projects/1/reports/sessions.csv?receptionist=me&status=ongoing');
    c.setTab('ended');
    await vi.advanceTimersByTimeAsync(0);
    expect(c.getState().records.items.map((r) => r.id)).toEqual([4]);
    expect(c.exportUrl).toContain('status=ended');
  });

  it('refreshes the summary once per burst of session frames, and counts messages live', async () => {
    const api = new FakeReportsApi();
    api.records_ = [makeRecord({ id: 5, messages: { total: 1, visitor: 1, agent: 0 } })];
    const c = make(api);
    await c.start();
    api.calls = [];
    api.summary_ = { ongoing: 2, ended: 0, total: 2 };
    for (let i = 0; i < 5; i++) {
      c.frame({ type: 'session', session: makeSession({ id: 10 + i, status: 'unassigned' }) });
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(api.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(500);
    expect(api.calls).toEqual(['summary ']);
    expect(c.getState().summary?.total).toBe(2);
    expect(c.getState().records.newIds).toHaveLength(5);
    // Messages do not refetch anything: the row counts them.
    c.frame({ type: 'message', ...makeMessage({ session_id: 5, seq: 2, sender: 'visitor' }) });
    await vi.advanceTimersByTimeAsync(2000);
    expect(api.calls).toEqual(['summary ']);
    expect(c.getState().records.items[0].messages).toEqual({ total: 2, visitor: 2, agent: 0 });
  });

  it('reloads after a reconnect, keeps a bad filter out of the requests, and hands 401 up', async () => {
    const api = new FakeReportsApi();
    const lost = vi.fn();
    const c = make(api, lost);
    await c.start();
    api.calls = [];
    c.frame({ type: 'hello', user_id: 1, project_id: 1, data_scope: 'all' });
    await vi.advanceTimersByTimeAsync(0);
    expect(api.calls).toEqual(['records status=ongoing&limit=50', 'summary ']);
    api.calls = [];
    c.edit({ receivedFrom: '2026-11-24T10:00', receivedTo: '2026-11-23T10:00' });
    await vi.advanceTimersByTimeAsync(0);
    expect(c.getState().formError).toBe('The reception time starts after it ends.');
    expect(api.calls).toEqual([]);
    api.failNext = new ApiError(401, 'unauthenticated', 'log in');
    await c.loadList();
    expect(lost).toHaveBeenCalled();
    api.failNext = new ApiError(400, 'validation', 'received_from must be an RFC 3339 time');
    await c.loadSummary();
    expect(c.getState().summaryError).toBe('received_from must be an RFC 3339 time');
  });
});
