import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ContactsListController } from './contactsList';
import { FakeContactsApi, makeContact } from './fakeContactsApi';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function seed(n: number): FakeContactsApi {
  const api = new FakeContactsApi();
  for (let i = 1; i <= n; i++) api.put(makeContact({ id: i, name: `visitor-${i}`, note_name: i % 10 === 0 ? `Note ${i}` : null }));
  return api;
}

describe('contacts list', () => {
  it('pages with next_before', async () => {
    const api = seed(60);
    const ctl = new ContactsListController({ api, projectId: 1 });
    ctl.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(ctl.getState().items).toHaveLength(50);
    expect(ctl.getState().nextBefore).toBe(11);
    ctl.loadMore();
    await vi.advanceTimersByTimeAsync(0);
    expect(ctl.getState().items).toHaveLength(60);
    expect(ctl.getState().items[59].id).toBe(1);
    expect(ctl.getState().nextBefore).toBeNull();
    expect(api.calls[1]).toBe('contacts q= note= before=11 limit=50');
  });

  it('searches after a pause and drops answers of older searches', async () => {
    const api = seed(60);
    const ctl = new ContactsListController({ api, projectId: 1 });
    ctl.start();
    await vi.advanceTimersByTimeAsync(0);
    ctl.setSearch({ query: 'visitor-5' });
    ctl.setSearch({ noteFilter: 'note' });
    await vi.advanceTimersByTimeAsync(299);
    expect(api.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.calls[1]).toBe('contacts q=visitor-5 note=note before= limit=50');
    expect(ctl.getState().items.map((c) => c.id)).toEqual([50]);
    expect(ctl.getState().nextBefore).toBeNull();
  });

  it('shows the error and recovers', async () => {
    const api = seed(3);
    const { ApiError } = await import('../api/http');
    api.failNext.contacts = new ApiError(500, 'internal', 'boom');
    const ctl = new ContactsListController({ api, projectId: 1 });
    ctl.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(ctl.getState().error).toBe('boom');
    ctl.reload();
    await vi.advanceTimersByTimeAsync(0);
    expect(ctl.getState().error).toBeNull();
    expect(ctl.getState().items).toHaveLength(3);
  });
});
