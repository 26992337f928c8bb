// The flow editor rendered against a fake API: the trigger panel's options, a step's settings,
// connecting a port through its select, and problems shown on the node they name.
import { act } from 'react';
import { describe, expect, it, vi } from 'vitest';
import type { AutomationApi, FlowDetail } from '../api/automation';
import type { FlowDocument, Problem } from '../automation/document';
import { reactTestRoot } from '../testing/reactRoot';
import { FlowEditor, type Lookups } from './FlowEditor';

// React Flow measures its nodes; jsdom has no layout, so give it the few APIs it calls.
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
const q = <T extends HTMLElement = HTMLElement>(sel: string) => dom.host.querySelector<T>(sel);
const byId = <T extends HTMLElement = HTMLElement>(id: string) => q<T>(`[data-testid="${id}"]`);

const DRAFT: FlowDocument = {
  trigger: { kind: 'first_message' },
  conditions: { channels: [], session_states: [], contact_label: null, note_name_present: null },
  start: 'm',
  steps: [
    { id: 'm', type: 'message', text: 'Hi', buttons: [{ id: 'b1', title: 'Pricing' }] },
    { id: 'e', type: 'end', text: null },
  ],
  edges: [],
};

function fakeApi(problems: Problem[]) {
  const puts: FlowDocument[] = [];
  const flow: FlowDetail = {
    id: 3,
    name: 'Welcome',
    enabled: false,
    trigger_kind: 'first_message',
    published_version: null,
    has_unpublished_changes: true,
    updated_at: '2026-12-01T10:00:00Z',
    updated_by_name: null,
    created_at: '2026-12-01T10:00:00Z',
    draft: DRAFT,
    problems,
    versions: [],
  };
  const api = {
    flow: async () => flow,
    saveFlow: async (_p: number, _f: number, body: { draft?: FlowDocument }) => {
      puts.push(body.draft!);
      return { ...flow, draft: body.draft!, problems: [] };
    },
  } as unknown as AutomationApi;
  return { api, puts };
}

const lookups: Lookups = {
  channels: async () => [{ id: 1, project_id: 1, kind: 'web', name: 'Website', widget_key: 'wk', created_at: '', health: 'ok', health_detail: null }] as never,
  members: async () => [],
  tags: async () => [],
};

async function mount(problems: Problem[] = []) {
  const f = fakeApi(problems);
  await act(async () => {
    dom.root.render(<FlowEditor api={f.api} lookups={lookups} projectId={1} flowId={3} onBack={() => undefined} onUnauthenticated={() => undefined} />);
    await vi.advanceTimersByTimeAsync(0);
  });
  return f;
}

function change(el: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, value: string) {
  const proto = el instanceof HTMLSelectElement ? HTMLSelectElement.prototype : el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  act(() => {
    Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, value);
    el.dispatchEvent(new Event(el instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true }));
  });
}

const click = (el: HTMLElement | null) => act(() => el!.click());

describe('flow editor', () => {
  it('shows the problems on the node they name and in the list', async () => {
    await mount([
      { step: 'm', code: 'unconnected_port', message: 'step m: its b1 port is not connected' },
      { step: null, code: 'missing_final_step', message: 'no End step is reachable' },
    ]);
    const node = q('[data-testid="flow-node"][data-step-id="m"]');
    expect(node?.querySelector('[data-testid="flow-node-problem"]')?.textContent).toBe('step m: its b1 port is not connected');
    expect(q('[data-testid="flow-node"][data-step-id="e"] [data-testid="flow-node-problem"]')).toBeNull();
    expect([...dom.host.querySelectorAll('[data-testid="flow-problem"]')].map((p) => p.getAttribute('data-code'))).toEqual(['unconnected_port', 'missing_final_step']);
    // The node has a handle per port.
    expect([...node!.querySelectorAll('[data-testid="flow-node-port"]')].map((p) => p.getAttribute('data-port'))).toEqual(['b1', 'other']);
  });

  it('the trigger panel offers every option of the silence trigger', async () => {
    const f = await mount();
    change(byId<HTMLSelectElement>('trigger-kind')!, 'visitor_silent');
    for (const id of ['trigger-minutes', 'trigger-visitors', 'trigger-state-hosted', 'trigger-state-unassigned', 'trigger-state-assigned', 'trigger-off-platform']) expect(byId(id), id).not.toBeNull();
    change(byId<HTMLInputElement>('trigger-minutes')!, '30');
    change(byId<HTMLSelectElement>('trigger-visitors')!, 'returning');
    click(byId('trigger-state-assigned'));
    click(byId('trigger-off-platform'));
    click(q('[data-testid="cond-channel"][data-channel-id="1"]'));
    await act(async () => {
      byId('flow-save')!.click();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(byId('flow-notice')?.getAttribute('data-kind')).toBe('saved');
    expect(byId('flow-version')?.textContent).not.toContain('unsaved');
    expect(f.puts[0].trigger).toEqual({ kind: 'visitor_silent', minutes: 30, visitors: 'returning', session_states: ['assigned'], off_platform: true });
    expect(f.puts[0].conditions.channels).toEqual([1]);
  });

  it('a step is edited and connected from the side panel', async () => {
    const f = await mount();
    click(q('[data-testid="step-list-item"][data-step-id="m"]'));
    expect(byId('step-panel')?.getAttribute('data-step-id')).toBe('m');
    change(q<HTMLTextAreaElement>('[data-testid="step-panel"] [data-testid="step-text"]')!, 'Hello there');
    click(byId('step-add-button'));
    change(dom.host.querySelectorAll<HTMLInputElement>('[data-testid="step-button-title"]')[1], 'Support');
    change(q<HTMLSelectElement>('[data-testid="port-target"][data-port="b1"]')!, 'e');
    change(q<HTMLSelectElement>('[data-testid="port-target"][data-port="b2"]')!, 'e');
    expect(q('[data-testid="flow-node"][data-step-id="m"] .flow-node-text')?.textContent).toBe('Hello there');
    await act(async () => {
      byId('flow-save')!.click();
      await vi.advanceTimersByTimeAsync(0);
    });
    const saved = f.puts[0];
    expect(saved.steps[0]).toMatchObject({ id: 'm', text: 'Hello there', buttons: [{ id: 'b1', title: 'Pricing' }, { id: 'b2', title: 'Support' }] });
    expect(saved.edges).toEqual([
      { from: 'm', port: 'b1', to: 'e' },
      { from: 'm', port: 'b2', to: 'e' },
    ]);
    // Every step is saved with its position.
    expect(saved.steps.every((s) => s.position)).toBe(true);
  });
});
