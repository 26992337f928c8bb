import { describe, expect, it } from 'vitest';
import * as D from './document';
import type { FlowDocument } from './document';

/** What the server's POST /flows makes: a message, then End. */
function starter(): FlowDocument {
  return D.normalize({
    trigger: { kind: 'first_message' },
    start: 'welcome',
    steps: [
      { id: 'welcome', type: 'message', text: 'Hi', position: { x: 0, y: 0 } },
      { id: 'done', type: 'end' },
    ],
    edges: [{ from: 'welcome', to: 'done' }],
  });
}

describe('flow document', () => {
  it('normalize fills what the server leaves out', () => {
    const d = starter();
    expect(d.conditions).toEqual(D.EMPTY_CONDITIONS);
    expect(d.edges).toEqual([{ from: 'welcome', port: 'next', to: 'done' }]);
    expect(d.steps[0]).toMatchObject({ type: 'message', buttons: [] });
    expect(d.steps[1]).toMatchObject({ type: 'end', text: null, position: D.autoPosition(1) });
    expect(D.normalize({ trigger: { kind: 'visitor_silent', minutes: 5 }, start: '', steps: [] }).trigger).toEqual({
      kind: 'visitor_silent',
      minutes: 5,
      visitors: 'both',
      session_states: [],
      off_platform: false,
    });
  });

  it('ports follow the step type, as the server defines them', () => {
    const ids = (b: D.StepBody) => D.portsOf(b).map((p) => p.id);
    expect(ids(D.defaultBody('message'))).toEqual(['next']);
    expect(ids({ type: 'message', text: 'x', buttons: [{ id: 'a', title: 'A' }, { id: 'b', title: 'B' }] })).toEqual(['a', 'b', 'other']);
    expect(ids(D.defaultBody('question'))).toEqual(['next', 'fallback']);
    expect(ids(D.defaultBody('condition'))).toEqual(['true', 'false']);
    expect(ids(D.defaultBody('wait'))).toEqual(['next', 'replied']);
    expect(ids(D.defaultBody('end'))).toEqual([]);
    for (const t of ['add_label', 'add_tag', 'handoff'] as const) expect(ids(D.defaultBody(t))).toEqual(['next']);
    expect(D.portsOf({ type: 'message', text: 'x', buttons: [{ id: 'a', title: 'A' }] }).map((p) => p.optional)).toEqual([false, true]);
  });

  it('adds steps with fresh ids below the others; the first step of an empty flow is its start', () => {
    const a = D.addStep(starter(), 'end');
    expect(a.id).toBe('end_1');
    expect(D.addStep(a.doc, 'end').id).toBe('end_2');
    const added = a.doc.steps.find((s) => s.id === 'end_1')!;
    expect(added.position!.y).toBeGreaterThan(0);
    expect(a.doc.start).toBe('welcome');
    // Beside a given step, never on top of another one ("done" sits on the grid at 300, 0).
    const beside = D.addStep(starter(), 'wait', 'welcome');
    expect(beside.doc.steps[2].position).toEqual({ x: 300, y: 160 });
    const again = D.addStep(beside.doc, 'wait', 'welcome');
    expect(again.doc.steps[3].position).toEqual({ x: 300, y: 320 });
    const empty = D.addStep(D.normalize({ trigger: { kind: 'new_session' }, start: '', steps: [] }), 'message');
    expect(empty.doc.start).toBe('message_1');
  });

  it('removing a step removes its edges both ways and moves the start', () => {
    let d = D.addStep(starter(), 'question').doc;
    d = D.connect(d, 'question_1', 'next', 'done');
    d = D.connect(d, 'welcome', 'next', 'question_1');
    const without = D.removeStep(d, 'question_1');
    expect(without.edges).toEqual([]);
    expect(without.steps.map((s) => s.id)).toEqual(['welcome', 'done']);
    expect(D.removeStep(d, 'welcome').start).toBe('done');
  });

  it('a port has at most one edge; connecting again moves it, null disconnects', () => {
    let d = D.addStep(starter(), 'end').doc;
    d = D.connect(d, 'welcome', 'next', 'end_1');
    expect(d.edges).toEqual([{ from: 'welcome', port: 'next', to: 'end_1' }]);
    expect(D.target(d, 'welcome', 'next')).toBe('end_1');
    d = D.connect(d, 'welcome', 'next', null);
    expect(d.edges).toEqual([]);
    expect(D.target(d, 'welcome', 'next')).toBeNull();
  });

  it('buttons get unique ids; a message with buttons loses its `next` edge, a removed button its edge', () => {
    const d0 = starter();
    const msg = d0.steps[0] as Extract<D.Step, { type: 'message' }>;
    const two = D.withButton(D.withButton(msg, 'Pricing'), 'Support');
    expect(two.buttons).toEqual([
      { id: 'b1', title: 'Pricing' },
      { id: 'b2', title: 'Support' },
    ]);
    let d = D.updateStep(d0, 'welcome', two);
    expect(d.edges).toEqual([]);
    d = D.connect(D.connect(d, 'welcome', 'b1', 'done'), 'welcome', 'b2', 'done');
    d = D.updateStep(d, 'welcome', D.withoutButton(two, 'b1'));
    expect(d.edges).toEqual([{ from: 'welcome', port: 'b2', to: 'done' }]);
    expect(D.withButton(D.withoutButton(two, 'b1')).buttons.map((b) => b.id)).toEqual(['b2', 'b1']);
    // The step keeps its id and position through edits.
    expect(d.steps[0]).toMatchObject({ id: 'welcome', position: { x: 0, y: 0 } });
  });

  it('changing a step type starts its settings over and drops edges of ports it lost', () => {
    let d = D.connect(starter(), 'welcome', 'next', 'done');
    d = D.changeType(d, 'welcome', 'condition');
    expect(d.steps[0]).toMatchObject({ id: 'welcome', type: 'condition', rule: { kind: 'returning_visitor' } });
    expect(d.edges).toEqual([]);
  });

  it('moves round positions; the trigger and conditions change as a whole or by field', () => {
    let d = D.moveStep(starter(), 'done', { x: 10.4, y: 20.6 });
    expect(d.steps[1].position).toEqual({ x: 10, y: 21 });
    d = D.setTrigger(d, D.defaultTrigger('keyword'));
    expect(d.trigger).toEqual({ kind: 'keyword', keywords: [], matching: 'contains' });
    d = D.setConditions(d, { channels: [3], contact_label: 'vip' });
    expect(d.conditions).toEqual({ channels: [3], session_states: [], contact_label: 'vip', note_name_present: null });
    expect(D.toggled(['hosted', 'assigned'], 'hosted', false)).toEqual(['assigned']);
    expect(D.toggled(['assigned'], 'hosted', true)).toEqual(['assigned', 'hosted']);
    expect(D.toggled(['hosted'], 'hosted', true)).toEqual(['hosted']);
    expect(D.setStart(d, 'nope').start).toBe('welcome');
    expect(D.setStart(d, 'done').start).toBe('done');
  });

  it('splits problems by step and reads them from an invalid_flow error', () => {
    const problems = [
      { step: 'a', code: 'unconnected_port', message: 'a: x' },
      { step: null, code: 'missing_final_step', message: 'no end' },
      { step: 'a', code: 'empty_text', message: 'a: y' },
    ];
    const { byStep, general } = D.problemsByStep(problems);
    expect(byStep.a.map((p) => p.code)).toEqual(['unconnected_port', 'empty_text']);
    expect(general.map((p) => p.code)).toEqual(['missing_final_step']);
    expect(D.problemsOfDetails({ problems: [{ step: 'a', code: 'c', message: 'm' }, { code: 'd', message: 'n' }, 'junk'] })).toEqual([
      { step: 'a', code: 'c', message: 'm' },
      { step: null, code: 'd', message: 'n' },
    ]);
    expect(D.problemsOfDetails(undefined)).toBeNull();
  });

  it('toGraph: a node per step with its ports and problems, an edge per edge with its handle', () => {
    let d = starter();
    d = D.updateStep(d, 'welcome', { type: 'message', text: 'Hi', buttons: [{ id: 'p', title: 'Pricing' }] });
    d = D.connect(d, 'welcome', 'p', 'done');
    d = { ...d, edges: [...d.edges, { from: 'welcome', port: 'other', to: 'ghost' }] };
    const g = D.toGraph(d, [{ step: 'welcome', code: 'x', message: 'bad' }]);
    expect(g.nodes.map((n) => n.id)).toEqual(['welcome', 'done']);
    expect(g.nodes[0].data.isStart).toBe(true);
    expect(g.nodes[0].data.problems).toHaveLength(1);
    expect(g.nodes[0].data.ports).toEqual([
      { id: 'p', label: 'Pricing', optional: false, connected: true },
      { id: 'other', label: 'typed something else', optional: true, connected: true },
    ]);
    // An edge to a missing step is not drawn.
    expect(g.nodes[1].position).toEqual(D.autoPosition(1));
    expect(g.edges).toEqual([{ id: 'welcome:p->done', source: 'welcome', sourceHandle: 'p', target: 'done', label: 'Pricing' }]);
  });

  it('summaries say what a step does', () => {
    expect(D.stepSummary({ type: 'wait', seconds: 120 })).toBe('Wait 2 min');
    expect(D.stepSummary({ type: 'wait', seconds: 7200 })).toBe('Wait 2 h');
    expect(D.stepSummary({ type: 'condition', rule: { kind: 'field_present', field: 'email' } })).toBe('E-mail is known');
    expect(D.stepSummary({ type: 'handoff', assignee: null, text: null })).toContain('queue');
    expect(D.stepSummary({ type: 'end', text: null })).toBe('End of the flow');
  });
});
