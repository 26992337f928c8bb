// The Automation page's Data view rendered against a fake API: the figures with their counts,
// sorting, comparing, the drill-down (a row opens the chat), the funnel, live refetches on
// `flow_stats`, and who sees what.
import { act } from 'react';
import { describe, expect, it, vi } from 'vitest';
import type { Api } from '../api/http';
import type { FlowStats, FlowVisitor } from '../api/analytics';
import { flowStats, visitor } from '../analytics/testData';
import type { ServerFrame } from '../realtime/protocol';
import { reactTestRoot } from '../testing/reactRoot';
import { AutomationPage } from './AutomationPage';

class NoResize {
  observe() {}
  unobserve() {}
  disconnect() {}
}
(globalThis as unknown as { ResizeObserver: unknown }).ResizeObserver ??= NoResize;
(globalThis as unknown as { DOMMatrixReadOnly: unknown }).DOMMatrixReadOnly ??= class {
  m22 = 1;
};

const dom = reactTestRoot({ now: '2026-12-01T12:00:00Z' });
const all = (id: string) => [...dom.host.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
const byId = (id: string) => dom.host.querySelector<HTMLElement>(`[data-testid="${id}"]`);
const text = (el: Element | null) => el?.textContent?.trim() ?? '';

function fakeServer(opts: { flows?: FlowStats[]; visitors?: FlowVisitor[] } = {}) {
  const state = {
    flows: opts.flows ?? [
      flowStats({ flow_id: 7, name: 'Welcome', trigger_times: 2, triggered_visitors: 2, participants: 1, completed_visitors: 1 }),
      flowStats({ flow_id: 8, name: 'After hours', trigger_times: 5, triggered_visitors: 4, participants: 4, completed_visitors: 0 }),
    ],
    visitors: opts.visitors ?? [
      visitor({ contact_id: 2, name: 'visitor-2', status: 'not_participated', last_session_id: 22 }),
      visitor({ contact_id: 1, name: 'Ada', note_name: 'Ada (VIP)', status: 'completed', triggers: 2, last_session_id: 11 }),
    ],
  };
  const paths: string[] = [];
  const api = {
    request: vi.fn(async (_m: string, path: string) => {
      paths.push(path);
      const p = path.split('?')[0];
      if (p === '/api/projects/1/automation/stats') return { from: '2026-11-02T00:00:00Z', to: '2026-12-02T00:00:00Z', flows: state.flows };
      if (/\/flows\/\d+\/visitors$/.test(p)) return { items: state.visitors, next: null, total: state.visitors.length };
      if (/\/versions\/\d+\/funnel$/.test(p))
        return {
          version: 1,
          runs: 2,
          completed: 1,
          steps: [
            { step_id: 'm', step_type: 'message', reached: 2, waiting: 1, stopped: 0 },
            { step_id: 'e', step_type: 'end', reached: 1, waiting: 0, stopped: 0 },
          ],
          edges: [{ from: 'm', port: 'next', to: 'e', taken: 1 }],
        };
      if (/\/versions\/\d+$/.test(p))
        return {
          version: 1,
          document: {
            trigger: { kind: 'first_message' },
            start: 'm',
            steps: [
              { id: 'm', type: 'message', text: 'Hi', buttons: [] },
              { id: 'e', type: 'end', text: null },
            ],
            edges: [{ from: 'm', port: 'next', to: 'e' }],
          },
        };
      if (p === '/api/projects/1/channels') return [{ id: 1, name: 'Website', kind: 'web' }];
      if (p === '/api/projects/1/flows') return [];
      throw new Error(`unexpected ${path}`);
    }),
    members: async () => [],
  } as unknown as Api;
  return { api, state, paths };
}

function frames() {
  const listeners = new Set<(f: ServerFrame) => void>();
  return {
    subscribe: (l: (f: ServerFrame) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    emit: (f: ServerFrame) => listeners.forEach((l) => l(f)),
  };
}

async function mount(permissions: string[], path = '/automation/data') {
  window.history.replaceState(null, '', path);
  const server = fakeServer();
  const live = frames();
  const openChat = vi.fn();
  await act(async () => {
    dom.root.render(
      <AutomationPage
        api={server.api}
        membership={{ project: { id: 1, name: 'P' }, role: { name: 'r', permissions, data_scope: 'all' } }}
        onUnauthenticated={() => undefined}
        onOpenChat={openChat}
        subscribeFrames={live.subscribe}
      />,
    );
    await vi.advanceTimersByTimeAsync(0);
  });
  return { ...server, live, openChat };
}

async function click(el: HTMLElement | null) {
  expect(el).not.toBeNull();
  await act(async () => {
    el!.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, button: 0 }));
    await vi.advanceTimersByTimeAsync(0);
  });
}

const row = (id: number) => dom.host.querySelector<HTMLElement>(`[data-testid="flow-stats-row"][data-flow-id="${id}"]`);
const cell = (id: number, testId: string) => text(row(id)!.querySelector(`[data-testid="${testId}"]`));

describe('the Data view', () => {
  it('lists every flow with its figures and the counts behind each rate', async () => {
    const s = await mount(['automation.view']);
    expect(s.paths[0]).toBe('/api/projects/1/automation/stats?from=2026-11-02&to=2026-12-02');
    expect(cell(7, 'stat-trigger-times')).toBe('2');
    expect(cell(7, 'stat-triggered-visitors')).toBe('2');
    expect(cell(7, 'stat-participation')).toBe('50% (1/2)');
    expect(cell(7, 'stat-completion')).toBe('50% (1/2)');
    expect(cell(8, 'stat-completion')).toBe('0% (0/4)');
    expect(text(byId('data-range-label'))).toBe('2 Nov – 1 Dec 2026 (UTC)');
  });

  it('sorts by a column header and flips on a second click', async () => {
    await mount(['automation.view']);
    const order = () => all('flow-stats-row').map((r) => r.dataset.flowId);
    expect(order()).toEqual(['8', '7']); // trigger times, high to low
    await click(byId('sort-name'));
    expect(order()).toEqual(['8', '7']); // After hours, Welcome
    await click(byId('sort-name'));
    expect(order()).toEqual(['7', '8']);
    await click(byId('sort-completion_rate'));
    expect(order()).toEqual(['7', '8']);
    expect(byId('sort-completion_rate')!.closest('th')!.getAttribute('aria-sort')).toBe('descending');
  });

  it('compares the flows ticked, side by side', async () => {
    await mount(['automation.view']);
    expect(byId('compare-panel')).toBeNull();
    await click(row(7)!.querySelector('[data-testid="flow-compare"]'));
    await click(row(8)!.querySelector('[data-testid="flow-compare"]'));
    const metric = dom.host.querySelector('[data-testid="compare-metric"][data-metric="participation"]')!;
    expect([...metric.querySelectorAll('[data-testid="compare-value"]')].map(text)).toEqual(['50% (1/2)', '100% (4/4)']);
  });

  it('asks for the range picked: a preset or custom days', async () => {
    const s = await mount(['automation.view']);
    await click(byId('data-range-today'));
    expect(s.paths[s.paths.length - 1]).toBe('/api/projects/1/automation/stats?from=2026-12-01&to=2026-12-02');
    expect(byId('data-range-today')!.getAttribute('aria-pressed')).toBe('true');
  });

  it('refetches the figures when a flow_stats frame arrives, without a reload', async () => {
    const s = await mount(['automation.view']);
    s.state.flows = [flowStats({ flow_id: 7, name: 'Welcome', trigger_times: 3, triggered_visitors: 3, participants: 1, completed_visitors: 1 })];
    await act(async () => {
      s.live.emit({ type: 'flow_stats', flow_id: 7 });
      await vi.advanceTimersByTimeAsync(1000);
    });
    expect(cell(7, 'stat-trigger-times')).toBe('3');
    expect(cell(7, 'stat-participation')).toBe('33% (1/3)');
  });

  it("opens a flow's visitors from its count: note name first, status, and a click opens the chat", async () => {
    const s = await mount(['automation.view']);
    await click(row(7)!.querySelector('[data-testid="stat-triggered-visitors"]'));
    expect(window.location.pathname).toBe('/automation/data/7/visitors');
    expect(byId('flow-visitors')).not.toBeNull();
    const rows = all('visitor-row');
    expect(rows.map((r) => [text(r.querySelector('[data-testid="visitor-name"]')), r.dataset.status, text(r.querySelector('[data-testid="visitor-status"]'))])).toEqual([
      ['visitor-2', 'not_participated', 'Not participated'],
      ['Ada (VIP)', 'completed', 'Completed'],
    ]);
    expect(text(byId('visitors-total'))).toBe('2 visitors');
    expect(byId('visitors-export')!.getAttribute('href')).toBe('/api/projects/1/flows/7/visitors.csv?from=2026-11-02&to=2026-12-02');
    await click(rows[1].querySelector('[data-testid="visitor-name"]'));
    expect(s.openChat).toHaveBeenCalledWith(11);
  });

  it('filters the visitors by status; the CSV link follows', async () => {
    const s = await mount(['automation.view'], '/automation/data/7/visitors');
    const select = byId('visitors-status') as HTMLSelectElement;
    await act(async () => {
      Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value')!.set!.call(select, 'completed');
      select.dispatchEvent(new Event('change', { bubbles: true }));
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(s.paths[s.paths.length - 1]).toBe('/api/projects/1/flows/7/visitors?from=2026-11-02&to=2026-12-02&status=completed&limit=50');
    expect(byId('visitors-export')!.getAttribute('href')).toContain('status=completed');
  });

  it("draws the published version's funnel: counts on the nodes and bars in graph order", async () => {
    const s = await mount(['automation.view'], '/automation/data/7/funnel');
    expect(s.paths).toContain('/api/projects/1/flows/7/versions/1/funnel');
    expect((byId('funnel-version') as HTMLSelectElement).value).toBe('1');
    expect(all('funnel-bar').map((b) => [b.dataset.stepId, b.dataset.reached])).toEqual([
      ['m', '2'],
      ['e', '1'],
    ]);
    expect(text(byId('funnel-runs'))).toBe('2');
  });
});

describe('who sees the Data view', () => {
  it('a viewer (automation.view) gets the Data view at /automation, without the flows tab', async () => {
    const s = await mount(['automation.view'], '/automation');
    expect(byId('flow-stats')).not.toBeNull();
    expect(byId('automation-tab-flows')).toBeNull();
    expect(s.paths.some((p) => p === '/api/projects/1/flows')).toBe(false);
  });

  it('a manager gets both tabs; Data switches to the figures', async () => {
    await mount(['automation.manage'], '/automation');
    expect(byId('automation-tab-flows')).not.toBeNull();
    expect(byId('flow-stats')).toBeNull();
    await click(byId('automation-tab-data'));
    expect(window.location.pathname).toBe('/automation/data');
    expect(byId('flow-stats')).not.toBeNull();
  });

  it('anyone else is told why the page is closed', async () => {
    await mount(['contacts.manage']);
    expect(byId('flow-stats')).toBeNull();
    expect(text(byId('automation-page'))).toMatch(/view its data/);
  });
});
