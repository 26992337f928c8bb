// State of the Automation page: the flow list, and one flow in the editor (its draft edited
// locally, saved with PUT, published, enabled, test-run). The document edits themselves are the
// pure functions of ./document; this only keeps what the server said and what is in flight.
import { ApiError, authLost } from '../api/http';
import type { AutomationApi, FlowDetail, FlowPreview, FlowSummary } from '../api/automation';
import { PatchStore } from '../lib/store';
import { errorText } from '../settings/notificationsController';
import * as D from './document';
import type { FlowDocument, Problem, StepBody, StepType } from './document';

export type FlowsApi = Pick<AutomationApi, 'flows' | 'createFlow' | 'flow' | 'saveFlow' | 'publish' | 'setEnabled' | 'deleteFlow' | 'preview'>;

type Load = { kind: 'loading' } | { kind: 'ready' } | { kind: 'error'; message: string };
export type Notice = { kind: 'saved' | 'published' | 'error'; message: string } | null;

export interface FlowListState {
  load: Load;
  flows: FlowSummary[];
  creating: boolean;
  error: string | null;
}

export class FlowListController extends PatchStore<FlowListState> {
  constructor(private readonly opts: { api: FlowsApi; projectId: number; onUnauthenticated?: () => void }) {
    super({ load: { kind: 'loading' }, flows: [], creating: false, error: null });
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.load();
  }

  stop(): void {
    this.stopped = true;
  }

  async load(): Promise<void> {
    this.set({ load: { kind: 'loading' } });
    try {
      const flows = await this.opts.api.flows(this.opts.projectId);
      this.set({ load: { kind: 'ready' }, flows });
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ load: { kind: 'error', message: errorText(err, 'Could not load the flows.') } });
    }
  }

  /** Creates a flow (the server's default draft); answers its id, null when it failed. */
  async create(name: string): Promise<number | null> {
    const trimmed = name.trim();
    if (!trimmed || this.state.creating) return null;
    this.set({ creating: true, error: null });
    try {
      const flow = await this.opts.api.createFlow(this.opts.projectId, trimmed);
      this.set({ creating: false, flows: [...this.state.flows, flow] });
      return flow.id;
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return null;
      this.set({ creating: false, error: errorText(err, 'Could not create the flow.') });
      return null;
    }
  }

  async setEnabled(flowId: number, enabled: boolean): Promise<void> {
    try {
      const flow = await this.opts.api.setEnabled(this.opts.projectId, flowId, enabled);
      this.set({ flows: this.state.flows.map((f) => (f.id === flowId ? summary(flow) : f)), error: null });
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ error: enableError(err) });
    }
  }
}

function summary(f: FlowDetail): FlowSummary {
  const { draft: _d, problems: _p, versions: _v, ...rest } = f;
  return rest;
}

function enableError(err: unknown): string {
  if (err instanceof ApiError && err.code === 'conflict') return 'Publish the flow before enabling it.';
  return errorText(err, 'Could not change the flow.');
}

export type PreviewState = { kind: 'off' } | { kind: 'starting' } | { kind: 'ready'; preview: FlowPreview; n: number } | { kind: 'error'; message: string };

export interface FlowEditorState {
  load: Load;
  /** What the server has (after the last load, save or publish). */
  flow: FlowDetail | null;
  name: string;
  doc: FlowDocument;
  dirty: boolean;
  /** The server's problems with the draft (from the last save, publish or test run). */
  problems: Problem[];
  /** The step whose settings the side panel shows; null: the trigger. */
  selected: string | null;
  busy: 'saving' | 'publishing' | 'enabling' | null;
  notice: Notice;
  preview: PreviewState;
}

const EMPTY_DOC: FlowDocument = { trigger: { kind: 'first_message' }, conditions: D.EMPTY_CONDITIONS, start: '', steps: [], edges: [] };

export class FlowEditorController extends PatchStore<FlowEditorState> {
  constructor(private readonly opts: { api: FlowsApi; projectId: number; flowId: number; onUnauthenticated?: () => void }) {
    super({
      load: { kind: 'loading' },
      flow: null,
      name: '',
      doc: EMPTY_DOC,
      dirty: false,
      problems: [],
      selected: null,
      busy: null,
      notice: null,
      preview: { kind: 'off' },
    });
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.load();
  }

  stop(): void {
    this.stopped = true;
  }

  async load(): Promise<void> {
    this.set({ load: { kind: 'loading' } });
    try {
      const flow = await this.opts.api.flow(this.opts.projectId, this.opts.flowId);
      this.adopt(flow);
      this.set({ load: { kind: 'ready' } });
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ load: { kind: 'error', message: errorText(err, 'Could not load the flow.') } });
    }
  }

  private adopt(flow: FlowDetail): void {
    this.set({ flow, name: flow.name, doc: D.normalize(flow.draft), dirty: false, problems: flow.problems ?? [] });
  }

  private edit(doc: FlowDocument, extra: Partial<FlowEditorState> = {}): void {
    this.set({ doc, dirty: true, notice: null, ...extra });
  }

  rename(name: string): void {
    this.set({ name, dirty: true, notice: null });
  }

  select(stepId: string | null): void {
    if (stepId === this.state.selected) return;
    this.set({ selected: stepId !== null && this.state.doc.steps.some((s) => s.id === stepId) ? stepId : null });
  }

  /** Adds a step beside the selected one and selects it. */
  addStep(type: StepType): string {
    const { doc, id } = D.addStep(this.state.doc, type, this.state.selected);
    this.edit(doc, { selected: id });
    return id;
  }

  removeStep(id: string): void {
    this.edit(D.removeStep(this.state.doc, id), { selected: this.state.selected === id ? null : this.state.selected });
  }

  updateStep(id: string, body: StepBody): void {
    this.edit(D.updateStep(this.state.doc, id, body));
  }

  changeType(id: string, type: StepType): void {
    this.edit(D.changeType(this.state.doc, id, type));
  }

  connect(from: string, port: string, to: string | null): void {
    if (to === from) return;
    this.edit(D.connect(this.state.doc, from, port, to));
  }

  move(id: string, position: D.Position): void {
    const step = this.state.doc.steps.find((s) => s.id === id);
    if (step?.position && Math.round(position.x) === step.position.x && Math.round(position.y) === step.position.y) return;
    this.edit(D.moveStep(this.state.doc, id, position));
  }

  setStart(id: string): void {
    this.edit(D.setStart(this.state.doc, id));
  }

  setTrigger(trigger: D.Trigger): void {
    this.edit(D.setTrigger(this.state.doc, trigger));
  }

  setConditions(patch: Partial<D.Conditions>): void {
    this.edit(D.setConditions(this.state.doc, patch));
  }

  /** PUT the draft; a draft with problems is saved and they come back. Answers whether it was saved. */
  async save(): Promise<boolean> {
    if (this.state.busy) return false;
    this.set({ busy: 'saving', notice: null });
    const ok = await this.put();
    this.set({ busy: null });
    if (ok) this.set({ notice: { kind: 'saved', message: this.state.problems.length ? 'Saved, with problems to fix before publishing.' : 'Saved.' } });
    return ok;
  }

  private async put(): Promise<boolean> {
    const { name, doc } = this.state;
    try {
      const flow = await this.opts.api.saveFlow(this.opts.projectId, this.opts.flowId, { name: name.trim() || this.state.flow?.name, draft: doc });
      // Edits made while the request was out stay (and stay unsaved).
      const same = this.state.doc === doc && this.state.name === name;
      this.set({ flow, problems: flow.problems ?? [], dirty: !same });
      return true;
    } catch (err) {
      this.failed(err, 'Could not save the flow.');
      return false;
    }
  }

  private failed(err: unknown, fallback: string): void {
    if (authLost(err, this.opts.onUnauthenticated)) return;
    const problems = err instanceof ApiError ? D.problemsOfDetails(err.details) : null;
    this.set({ notice: { kind: 'error', message: errorText(err, fallback) }, ...(problems ? { problems } : {}) });
  }

  /** Saves unsaved changes first, then publishes a new version. */
  async publish(): Promise<boolean> {
    if (this.state.busy) return false;
    this.set({ busy: 'publishing', notice: null });
    if (this.state.dirty && !(await this.put())) {
      this.set({ busy: null });
      return false;
    }
    try {
      const flow = await this.opts.api.publish(this.opts.projectId, this.opts.flowId);
      this.set({ flow, problems: flow.problems ?? [], busy: null, notice: { kind: 'published', message: `Published version ${flow.published_version}.` } });
      return true;
    } catch (err) {
      this.set({ busy: null });
      this.failed(err, 'Could not publish the flow.');
      return false;
    }
  }

  async setEnabled(enabled: boolean): Promise<void> {
    if (this.state.busy) return;
    this.set({ busy: 'enabling', notice: null });
    try {
      const flow = await this.opts.api.setEnabled(this.opts.projectId, this.opts.flowId, enabled);
      this.set({ flow: { ...flow }, busy: null });
    } catch (err) {
      this.set({ busy: null });
      if (authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ notice: { kind: 'error', message: enableError(err) } });
    }
  }

  /** Saves unsaved changes, then makes a preview visitor for the draft (a new one each time). */
  async testRun(): Promise<void> {
    if (this.state.busy || this.state.preview.kind === 'starting') return;
    const n = this.state.preview.kind === 'ready' ? this.state.preview.n + 1 : 1;
    this.set({ preview: { kind: 'starting' }, notice: null });
    if (this.state.dirty && !(await this.put())) {
      this.set({ preview: { kind: 'off' } });
      return;
    }
    try {
      const preview = await this.opts.api.preview(this.opts.projectId, this.opts.flowId);
      this.set({ preview: { kind: 'ready', preview, n } });
    } catch (err) {
      this.set({ preview: { kind: 'error', message: errorText(err, 'Could not start a test run.') } });
      this.failed(err, 'Could not start a test run.');
    }
  }

  /** Deletes the flow; answers whether it is gone. */
  async deleteFlow(): Promise<boolean> {
    try {
      await this.opts.api.deleteFlow(this.opts.projectId, this.opts.flowId);
      return true;
    } catch (err) {
      this.failed(err, 'Could not delete the flow.');
      return false;
    }
  }

  closePreview(): void {
    this.set({ preview: { kind: 'off' } });
  }
}
