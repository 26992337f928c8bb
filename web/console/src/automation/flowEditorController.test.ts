import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/http';
import type { FlowDetail, FlowPreview, FlowSummary } from '../api/automation';
import type { FlowDocument, Problem } from './document';
import { FlowEditorController, FlowListController, type FlowsApi } from './flowEditorController';

const DRAFT: FlowDocument = {
  trigger: { kind: 'first_message' },
  conditions: { channels: [], session_states: [], contact_label: null, note_name_present: null },
  start: 'm',
  steps: [
    { id: 'm', type: 'message', text: 'Hi', buttons: [] },
    { id: 'e', type: 'end', text: null },
  ],
  edges: [{ from: 'm', port: 'next', to: 'e' }],
};

function detail(over: Partial<FlowDetail> = {}): FlowDetail {
  return {
    id: 7,
    name: 'Welcome',
    enabled: false,
    trigger_kind: 'first_message',
    published_version: null,
    has_unpublished_changes: true,
    updated_at: '2026-12-01T10:00:00Z',
    updated_by_name: 'Owner',
    created_at: '2026-12-01T10:00:00Z',
    draft: DRAFT,
    problems: [],
    versions: [],
    ...over,
  };
}

/** The server in miniature: keeps the draft, answers problems it is told to, records calls. */
class FakeFlows implements FlowsApi {
  calls: string[] = [];
  stored = detail();
  problems: Problem[] = [];
  publishError: ApiError | null = null;
  async flows(): Promise<FlowSummary[]> {
    this.calls.push('flows');
    return [this.stored];
  }
  async createFlow(_p: number, name: string): Promise<FlowDetail> {
    this.calls.push(`create ${name}`);
    return detail({ id: 8, name });
  }
  async flow(): Promise<FlowDetail> {
    this.calls.push('get');
    return this.stored;
  }
  async saveFlow(_p: number, _f: number, body: { name?: string; draft?: FlowDocument }): Promise<FlowDetail> {
    this.calls.push(`put ${body.name}`);
    this.stored = { ...this.stored, name: body.name ?? this.stored.name, draft: body.draft ?? this.stored.draft, problems: this.problems };
    return this.stored;
  }
  async publish(): Promise<FlowDetail> {
    this.calls.push('publish');
    if (this.publishError) throw this.publishError;
    this.stored = { ...this.stored, published_version: (this.stored.published_version ?? 0) + 1, has_unpublished_changes: false };
    return this.stored;
  }
  async setEnabled(_p: number, _f: number, enabled: boolean): Promise<FlowDetail> {
    this.calls.push(`enable ${enabled}`);
    if (enabled && this.stored.published_version === null) throw new ApiError(409, 'conflict', 'never published');
    this.stored = { ...this.stored, enabled };
    return this.stored;
  }
  async deleteFlow(): Promise<void> {
    this.calls.push('delete');
  }
  async preview(): Promise<FlowPreview> {
    this.calls.push('preview');
    return { widget_key: 'wk', visitor_token: 'vt', contact_id: 3, flow_version_id: 11 };
  }
}

async function editor(api = new FakeFlows()) {
  const c = new FlowEditorController({ api, projectId: 1, flowId: 7 });
  await c.start();
  return { c, api, s: () => c.getState() };
}

describe('flow editor controller', () => {
  it('loads the draft with its problems; edits make it dirty and select the new step', async () => {
    const api = new FakeFlows();
    api.stored = detail({ problems: [{ step: 'm', code: 'empty_text', message: 'm: empty' }] });
    const { c, s } = await editor(api);
    expect(s().load).toEqual({ kind: 'ready' });
    expect(s().problems).toHaveLength(1);
    expect(s().dirty).toBe(false);
    const id = c.addStep('question');
    expect(s().selected).toBe(id);
    expect(s().dirty).toBe(true);
    c.connect('m', 'next', id);
    expect(s().doc.edges).toEqual([{ from: 'm', port: 'next', to: id }]);
    c.connect(id, 'next', id); // a step never leads to itself
    expect(s().doc.edges).toHaveLength(1);
    c.removeStep(id);
    expect(s().selected).toBeNull();
    expect(s().doc.edges).toEqual([]);
  });

  it('saves the draft; a draft with problems is saved and its problems shown', async () => {
    const api = new FakeFlows();
    api.problems = [{ step: 'm', code: 'unconnected_port', message: 'm: its next port is not connected' }];
    const { c, s } = await editor(api);
    c.connect('m', 'next', null);
    c.rename('Hello flow');
    expect(await c.save()).toBe(true);
    expect(api.calls).toContain('put Hello flow');
    expect(api.stored.draft.edges).toEqual([]);
    expect(s().dirty).toBe(false);
    expect(s().problems.map((p) => p.step)).toEqual(['m']);
    expect(s().notice?.kind).toBe('saved');
  });

  it('publish saves unsaved changes first; a refusal shows details.problems', async () => {
    const api = new FakeFlows();
    api.publishError = new ApiError(400, 'invalid_flow', 'step m: no', { problems: [{ step: 'm', code: 'unconnected_port', message: 'step m: no' }] });
    const { c, s } = await editor(api);
    c.move('m', { x: 5, y: 6 });
    expect(await c.publish()).toBe(false);
    expect(api.calls.slice(-2)).toEqual(['put Welcome', 'publish']);
    expect(s().problems).toEqual([{ step: 'm', code: 'unconnected_port', message: 'step m: no' }]);
    expect(s().notice).toEqual({ kind: 'error', message: 'step m: no' });
    api.publishError = null;
    expect(await c.publish()).toBe(true);
    expect(api.calls.slice(-1)).toEqual(['publish']); // nothing unsaved this time
    expect(s().flow?.published_version).toBe(1);
    expect(s().notice?.kind).toBe('published');
  });

  it('enabling a never-published flow says to publish it first', async () => {
    const { c, s } = await editor();
    await c.setEnabled(true);
    expect(s().notice).toEqual({ kind: 'error', message: 'Publish the flow before enabling it.' });
    await c.publish();
    await c.setEnabled(true);
    expect(s().flow?.enabled).toBe(true);
  });

  it('a test run saves, then opens a new preview visitor each time', async () => {
    const { c, s, api } = await editor();
    c.setTrigger({ kind: 'new_session' });
    await c.testRun();
    expect(api.calls.slice(-2)).toEqual(['put Welcome', 'preview']);
    expect(s().preview).toEqual({ kind: 'ready', preview: { widget_key: 'wk', visitor_token: 'vt', contact_id: 3, flow_version_id: 11 }, n: 1 });
    await c.testRun();
    expect(s().preview).toMatchObject({ kind: 'ready', n: 2 });
    c.closePreview();
    expect(s().preview).toEqual({ kind: 'off' });
  });
});

describe('deleting', () => {
  it('deletes the flow', async () => {
    const { c, api } = await editor();
    expect(await c.deleteFlow()).toBe(true);
    expect(api.calls).toContain('delete');
  });
});

describe('flow list controller', () => {
  it('lists, creates and enables flows', async () => {
    const api = new FakeFlows();
    const c = new FlowListController({ api, projectId: 1 });
    await c.start();
    expect(c.getState().flows.map((f) => f.id)).toEqual([7]);
    expect(await c.create('  ')).toBeNull();
    expect(await c.create('Second')).toBe(8);
    expect(c.getState().flows.map((f) => f.name)).toEqual(['Welcome', 'Second']);
    await c.setEnabled(7, true);
    expect(c.getState().error).toBe('Publish the flow before enabling it.');
  });
});
