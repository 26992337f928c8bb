import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FlowVisitor, VisitorFilter, VisitorPage } from '../api/analytics';
import { visitor } from './testData';
import { VISITORS_MAX, VisitorsController, appendVisitors, refetchLimit, visitorFilter } from './visitorsController';

const RANGE = { from: '2026-11-02', to: '2026-12-02' };
type Call = { filter: VisitorFilter; page: { after?: string | null; limit?: number } };

/** 120 visitors, newest first, served in keyset pages with an opaque cursor. */
function fakeApi(all: FlowVisitor[] = Array.from({ length: 120 }, (_, i) => visitor({ contact_id: 120 - i }))) {
  const calls: Call[] = [];
  let rows = all;
  const api = {
    visitors: vi.fn(async (_p: number, _f: number, filter: VisitorFilter, page: { after?: string | null; limit?: number } = {}): Promise<VisitorPage> => {
      calls.push({ filter, page });
      const matching = rows.filter((v) => (!filter.status || v.status === filter.status) && (filter.channel_id === undefined || v.channel_id === filter.channel_id));
      const start = page.after ? matching.findIndex((v) => `c${v.contact_id}` === page.after) + 1 : 0;
      const items = matching.slice(start, start + (page.limit ?? 50));
      const more = start + items.length < matching.length;
      return { items, next: more ? `c${items[items.length - 1].contact_id}` : null, total: matching.length };
    }),
  };
  return { api, calls, setRows: (r: FlowVisitor[]) => (rows = r) };
}

function controller(f: ReturnType<typeof fakeApi>, range: { from: string; to: string } | null = RANGE) {
  return new VisitorsController({ api: f.api, projectId: 1, flowId: 7, range: () => range, liveDelayMs: 100, liveMaxWaitMs: 1000 });
}

describe('the drill-down of triggered visitors', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('pages with the cursor: "Load more" appends until there is no next', async () => {
    const f = fakeApi();
    const c = controller(f);
    await c.start();
    expect(c.getState().items).toHaveLength(50);
    expect(c.getState().total).toBe(120);
    expect(c.getState().next).toBe('c71');
    await c.loadMore();
    expect(f.calls[f.calls.length - 1]!.page).toEqual({ after: 'c71', limit: 50 });
    expect(c.getState().items).toHaveLength(100);
    await c.loadMore();
    expect(c.getState().items).toHaveLength(120);
    expect(c.getState().next).toBeNull();
    await c.loadMore();
    expect(f.calls).toHaveLength(3);
  });

  it('filters by status and channel with the range, and starts over from the first page', async () => {
    const f = fakeApi([visitor({ contact_id: 3, status: 'completed' }), visitor({ contact_id: 2, status: 'participated', channel_id: 2 }), visitor({ contact_id: 1 })]);
    const c = controller(f);
    await c.start();
    c.edit({ status: 'completed' });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.calls[f.calls.length - 1]!.filter).toEqual({ ...RANGE, status: 'completed' });
    expect(c.getState().items.map((v) => v.contact_id)).toEqual([3]);
    c.edit({ status: '', channel: '2' });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.calls[f.calls.length - 1]!.filter).toEqual({ ...RANGE, channel_id: 2 });
    expect(f.calls[f.calls.length - 1]!.page).toEqual({ limit: 50 });
    expect(c.getState().items.map((v) => v.contact_id)).toEqual([2]);
    expect(c.exportUrl).toBe('/api/projects/1/flows/7/visitors.csv?from=2026-11-02&to=2026-12-02&channel_id=2');
  });

  it('drops an answer to an older filter that arrives late', async () => {
    const f = fakeApi([visitor({ contact_id: 3, status: 'completed' }), visitor({ contact_id: 1 })]);
    let release: () => void = () => undefined;
    const c = controller(f);
    await c.start();
    const slow = f.api.visitors.getMockImplementation()!;
    f.api.visitors.mockImplementationOnce(async (...args) => {
      await new Promise<void>((r) => (release = r));
      return slow(...args);
    });
    c.edit({ status: 'completed' });
    c.edit({ status: 'not_participated' });
    await vi.advanceTimersByTimeAsync(0);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(c.getState().items.map((v) => v.contact_id)).toEqual([1]);
  });

  it("refetches as many rows as are shown on this flow's flow_stats frames only", async () => {
    const f = fakeApi();
    const c = controller(f);
    await c.start();
    await c.loadMore();
    c.frame({ type: 'flow_stats', flow_id: 8 });
    await vi.advanceTimersByTimeAsync(500);
    expect(f.calls).toHaveLength(2);
    f.setRows([visitor({ contact_id: 500, status: 'completed' }), ...Array.from({ length: 120 }, (_, i) => visitor({ contact_id: 120 - i }))]);
    c.frame({ type: 'flow_stats', flow_id: 7 });
    c.frame({ type: 'flow_stats', flow_id: 7 });
    await vi.advanceTimersByTimeAsync(500);
    expect(f.calls).toHaveLength(3);
    expect(f.calls[f.calls.length - 1]!.page).toEqual({ limit: 100 });
    expect(c.getState().items[0].contact_id).toBe(500);
    expect(c.getState().items).toHaveLength(100);
    expect(c.getState().total).toBe(121);
  });

  it('asks nothing while the range is not valid', async () => {
    const f = fakeApi();
    const c = controller(f, null);
    await c.start();
    expect(f.calls).toHaveLength(0);
  });

  it('has pure helpers for the filter, appending and the refetch size', () => {
    expect(visitorFilter({ status: '', channel: '' }, RANGE)).toEqual(RANGE);
    expect(visitorFilter({ status: 'participated', channel: 'x' }, null)).toEqual({ status: 'participated' });
    const a = [visitor({ contact_id: 1 }), visitor({ contact_id: 2 })];
    expect(appendVisitors(a, [visitor({ contact_id: 2 }), visitor({ contact_id: 3 })]).map((v) => v.contact_id)).toEqual([1, 2, 3]);
    expect(refetchLimit(0)).toBe(50);
    expect(refetchLimit(120)).toBe(120);
    expect(refetchLimit(1000)).toBe(VISITORS_MAX);
  });
});
