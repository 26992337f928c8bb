import { describe, expect, it } from 'vitest';
import type { Funnel } from '../api/analytics';
import type { FlowDocument } from '../automation/document';
import { bfsOrder, funnelLayout, versionChoices } from './funnel';

// A greeting with two buttons: Pricing → a question → thanks; Support → a hand-off end.
const DOC: FlowDocument = {
  trigger: { kind: 'first_message' },
  conditions: { channels: [], session_states: [], contact_label: null, note_name_present: null },
  start: 'hi',
  steps: [
    { id: 'thanks', type: 'end', text: 'Thanks', position: { x: 600, y: 0 } },
    { id: 'hi', type: 'message', text: 'Hi!', buttons: [{ id: 'b1', title: 'Pricing' }, { id: 'b2', title: 'Support' }], position: { x: 0, y: 0 } },
    { id: 'ask', type: 'question', text: 'E-mail?', answer: 'email', save_to: 'email', retries: 1, retry_text: null, position: { x: 300, y: 0 } },
    { id: 'human', type: 'end', text: 'An agent will answer', position: { x: 300, y: 200 } },
  ],
  edges: [
    { from: 'hi', port: 'b1', to: 'ask' },
    { from: 'hi', port: 'b2', to: 'human' },
    { from: 'ask', port: 'next', to: 'thanks' },
    { from: 'ask', port: 'fallback', to: 'human' },
  ],
};

const FUNNEL: Funnel = {
  version: 2,
  runs: 10,
  completed: 5,
  steps: [
    { step_id: 'hi', step_type: 'message', reached: 10, waiting: 2, stopped: 1 },
    { step_id: 'ask', step_type: 'question', reached: 4, waiting: 0, stopped: 1 },
    { step_id: 'thanks', step_type: 'end', reached: 3, waiting: 0, stopped: 0 },
    { step_id: 'human', step_type: 'end', reached: 2, waiting: 0, stopped: 0 },
  ],
  edges: [
    { from: 'hi', port: 'b1', to: 'ask', taken: 4 },
    { from: 'hi', port: 'b2', to: 'human', taken: 2 },
    { from: 'ask', port: 'next', to: 'thanks', taken: 3 },
  ],
};

describe('the funnel layout', () => {
  it('orders the bars as the graph goes: breadth-first from the start, ports in order', () => {
    const l = funnelLayout(DOC, FUNNEL);
    expect(l.order).toEqual(['hi', 'ask', 'human', 'thanks']);
    expect(l.bars.map((b) => [b.step_id, b.label, b.reached, b.share])).toEqual([
      ['hi', 'Send message', 10, 1],
      ['ask', 'Ask a question', 4, 0.4],
      ['human', 'End', 2, 0.2],
      ['thanks', 'End', 3, 0.3],
    ]);
    expect(l.runs).toBe(10);
    expect(l.completed).toBe(5);
  });

  it('puts the counts on the nodes (where the document placed them) and on the edges and ports', () => {
    const l = funnelLayout(DOC, FUNNEL);
    const hi = l.nodes.find((n) => n.id === 'hi')!;
    expect(hi.position).toEqual({ x: 0, y: 0 });
    expect(hi.data.isStart).toBe(true);
    expect(hi.data.counts).toEqual({ reached: 10, waiting: 2, stopped: 1 });
    expect(hi.data.ports.map((p) => [p.id, p.taken])).toEqual([
      ['b1', 4],
      ['b2', 2],
      ['other', 0],
    ]);
    expect(l.edges.map((e) => [e.id, e.label, e.taken])).toEqual([
      ['hi:b1->ask', 'Pricing · 4', 4],
      ['hi:b2->human', 'Support · 2', 2],
      ['ask:next->thanks', '3', 3],
      ['ask:fallback->human', 'fallback (retries used up) · 0', 0],
    ]);
  });

  it('gives a step the funnel never counted zeros', () => {
    const l = funnelLayout(DOC, { ...FUNNEL, steps: FUNNEL.steps.filter((s) => s.step_id !== 'human'), edges: [] });
    expect(l.bars.find((b) => b.step_id === 'human')).toMatchObject({ reached: 0, waiting: 0, stopped: 0, share: 0 });
  });

  it('without the document, draws the funnel from its own steps in layers from the start', () => {
    const l = funnelLayout(null, FUNNEL);
    expect(l.order).toEqual(['hi', 'ask', 'human', 'thanks']);
    const pos = Object.fromEntries(l.nodes.map((n) => [n.id, n.position]));
    expect(pos.hi).toEqual({ x: 0, y: 0 });
    expect(pos.ask).toEqual({ x: 300, y: 0 });
    expect(pos.human).toEqual({ x: 300, y: 180 });
    expect(pos.thanks).toEqual({ x: 600, y: 0 });
    expect(l.nodes.every((n) => n.data.bare)).toBe(true);
    expect(l.nodes.find((n) => n.id === 'hi')!.data.ports.map((p) => [p.id, p.taken])).toEqual([
      ['b1', 4],
      ['b2', 2],
    ]);
    expect(l.edges.map((e) => e.label)).toEqual(['b1 · 4', 'b2 · 2', '3']);
  });

  it('appends what the walk never reaches, in the order given', () => {
    expect(bfsOrder('a', ['c', 'a', 'b', 'd'], (id) => (id === 'a' ? ['b'] : [])).order).toEqual(['a', 'b', 'c', 'd']);
    expect(bfsOrder(null, ['x', 'y'], () => []).order).toEqual(['x', 'y']);
  });

  it('offers every version, the published one first', () => {
    expect(versionChoices(3)).toEqual([3, 2, 1]);
    expect(versionChoices(null)).toEqual([]);
  });
});
