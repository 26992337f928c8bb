import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Funnel } from '../api/analytics';
import { ApiError } from '../api/http';
import type { FlowDocument } from '../automation/document';
import { FunnelController } from './funnelController';

const DOC = {
  trigger: { kind: 'first_message' },
  start: 'm',
  steps: [
    { id: 'm', type: 'message', text: 'Hi', buttons: [] },
    { id: 'e', type: 'end', text: null },
  ],
  edges: [{ from: 'm', port: 'next', to: 'e' }],
} as unknown as FlowDocument;

function funnel(version: number, reached: number): Funnel {
  return {
    version,
    runs: reached,
    completed: 0,
    steps: [{ step_id: 'm', step_type: 'message', reached, waiting: 0, stopped: 0 }],
    edges: [],
  };
}

function fakeApi(docAnswer: 'ok' | 'forbidden' = 'ok') {
  let reached = 2;
  const api = {
    funnel: vi.fn(async (_p: number, _f: number, v: number) => funnel(v, reached)),
    version: vi.fn(async (_p: number, _f: number, v: number) => {
      if (docAnswer === 'forbidden') throw new ApiError(403, 'forbidden', 'no');
      return { version: v, document: DOC };
    }),
  };
  return { api, bump: () => (reached += 1) };
}

describe('the funnel controller', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("draws the version's counts on its document; another version reads both again", async () => {
    const f = fakeApi();
    const c = new FunnelController({ api: f.api, projectId: 1, flowId: 4, version: 2 });
    await c.start();
    expect(c.getState().layout?.order).toEqual(['m', 'e']);
    expect(c.getState().layout?.bars[0].reached).toBe(2);
    expect(c.getState().layout?.nodes.every((n) => !n.data.bare)).toBe(true);
    c.setVersion(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(f.api.version).toHaveBeenLastCalledWith(1, 4, 1);
    expect(c.getState().funnel?.version).toBe(1);
  });

  it('without the document (no automation.manage) draws the bare steps', async () => {
    const f = fakeApi('forbidden');
    const c = new FunnelController({ api: f.api, projectId: 1, flowId: 4, version: 2 });
    await c.start();
    expect(c.getState().doc).toBeNull();
    expect(c.getState().layout?.nodes.map((n) => n.data.bare)).toEqual([true]);
  });

  it("refetches the counts only (not the document) on the flow's flow_stats frames", async () => {
    const f = fakeApi();
    const c = new FunnelController({ api: f.api, projectId: 1, flowId: 4, version: 2, liveDelayMs: 100 });
    await c.start();
    f.bump();
    c.frame({ type: 'flow_stats', flow_id: 5 });
    await vi.advanceTimersByTimeAsync(300);
    expect(f.api.funnel).toHaveBeenCalledTimes(1);
    c.frame({ type: 'flow_stats', flow_id: 4 });
    await vi.advanceTimersByTimeAsync(300);
    expect(f.api.funnel).toHaveBeenCalledTimes(2);
    expect(f.api.version).toHaveBeenCalledTimes(1);
    expect(c.getState().layout?.bars[0].reached).toBe(3);
  });

  it('waits for a version to be picked', async () => {
    const f = fakeApi();
    const c = new FunnelController({ api: f.api, projectId: 1, flowId: 4, version: null });
    await c.start();
    expect(f.api.funnel).not.toHaveBeenCalled();
  });
});
