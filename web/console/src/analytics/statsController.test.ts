import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StatsPage, StatsRange } from '../api/analytics';
import { StatsController } from './statsController';
import { flowStats } from './testData';

const NOW = new Date('2026-12-01T12:00:00Z');

function fakeApi() {
  const calls: StatsRange[] = [];
  let flows = [flowStats({ flow_id: 1, name: 'Welcome', triggered_visitors: 2, participants: 1, completed_visitors: 1 }), flowStats({ flow_id: 2, name: 'Away' })];
  const api = {
    stats: vi.fn(async (_pid: number, range: StatsRange): Promise<StatsPage> => {
      calls.push(range);
      return { from: `${range.from}T00:00:00Z`, to: `${range.to}T00:00:00Z`, flows };
    }),
  };
  return { api, calls, setFlows: (f: typeof flows) => (flows = f) };
}

describe('the Data view controller', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('asks for the last 30 UTC days first, then the range picked', async () => {
    const f = fakeApi();
    const c = new StatsController({ api: f.api, projectId: 1, now: () => NOW });
    await c.start();
    expect(f.calls).toEqual([{ from: '2026-11-02', to: '2026-12-02' }]);
    expect(c.getState().load).toEqual({ kind: 'ready' });
    c.setRange({ kind: 'preset', preset: 'today' });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.calls[f.calls.length - 1]).toEqual({ from: '2026-12-01', to: '2026-12-02' });
  });

  it('asks nothing for a custom range that is not valid, and says why', async () => {
    const f = fakeApi();
    const c = new StatsController({ api: f.api, projectId: 1, now: () => NOW });
    await c.start();
    c.setRange({ kind: 'custom', from: '2026-11-10', to: '2026-11-01' });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.calls).toHaveLength(1);
    expect(c.getState().rangeError).toMatch(/ends before/);
    expect(c.query()).toBeNull();
    c.setRange({ kind: 'custom', from: '2026-11-01', to: '2026-11-10' });
    await vi.advanceTimersByTimeAsync(0);
    expect(f.calls[f.calls.length - 1]).toEqual({ from: '2026-11-01', to: '2026-11-11' });
    expect(c.getState().rangeError).toBeNull();
  });

  it('refetches once, shortly after a burst of flow_stats frames, keeping the figures on screen meanwhile', async () => {
    const f = fakeApi();
    const c = new StatsController({ api: f.api, projectId: 1, now: () => NOW, liveDelayMs: 300, liveMaxWaitMs: 2000 });
    await c.start();
    f.setFlows([flowStats({ flow_id: 1, name: 'Welcome', triggered_visitors: 3, participants: 1, completed_visitors: 1 })]);
    c.frame({ type: 'flow_stats', flow_id: 1 });
    c.frame({ type: 'flow_stats', flow_id: 2 });
    await vi.advanceTimersByTimeAsync(200);
    c.frame({ type: 'flow_stats', flow_id: 1 });
    expect(c.getState().page?.flows[0].triggered_visitors).toBe(2);
    await vi.advanceTimersByTimeAsync(300);
    expect(f.calls).toHaveLength(2);
    expect(c.getState().page?.flows[0].triggered_visitors).toBe(3);
    expect(c.getState().load).toEqual({ kind: 'ready' });
  });

  it('refetches after a reconnect (frames may have been missed), not after other frames', async () => {
    const f = fakeApi();
    const c = new StatsController({ api: f.api, projectId: 1, now: () => NOW, liveDelayMs: 100 });
    await c.start();
    c.frame({ type: 'pong', ref: null });
    await vi.advanceTimersByTimeAsync(500);
    expect(f.calls).toHaveLength(1);
    c.frame({ type: 'hello', user_id: 1, project_id: 1, data_scope: 'all' });
    await vi.advanceTimersByTimeAsync(500);
    expect(f.calls).toHaveLength(2);
  });

  it('sorts the rows and keeps up to four flows for comparison, as the latest figures have them', async () => {
    const f = fakeApi();
    const c = new StatsController({ api: f.api, projectId: 1, now: () => NOW });
    await c.start();
    expect(c.rows.map((r) => r.flow_id)).toEqual([1, 2]);
    c.sortBy('name');
    expect(c.rows.map((r) => r.name)).toEqual(['Away', 'Welcome']);
    c.toggleCompare(2);
    c.toggleCompare(1);
    expect(c.compared.map((r) => r.flow_id)).toEqual([2, 1]);
    for (const id of [3, 4, 5, 6]) c.toggleCompare(id);
    expect(c.getState().compare).toEqual([2, 1, 3, 4]);
    c.toggleCompare(1);
    expect(c.getState().compare).toEqual([2, 3, 4]);
    // Flows 3 and 4 are not in the figures: they are not compared.
    expect(c.compared.map((r) => r.flow_id)).toEqual([2]);
  });

  it('shows an error it can retry', async () => {
    const f = fakeApi();
    f.api.stats.mockRejectedValueOnce(new Error('down'));
    const c = new StatsController({ api: f.api, projectId: 1, now: () => NOW });
    await c.start();
    expect(c.getState().load.kind).toBe('error');
    await c.load();
    expect(c.getState().load.kind).toBe('ready');
  });
});
