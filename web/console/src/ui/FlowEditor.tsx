// One flow in the editor: the graph (React Flow: steps as nodes, each port a handle, edges
// dragged between them), the side panel (the trigger and conditions, or the selected step's
// settings and a select per port as the keyboard's way to connect), Save / Publish / Enable,
// the server's problems on the nodes they name, and the test-run chat.
import { memo, useCallback, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { Background, Controls, Handle, Position, ReactFlow, applyNodeChanges } from '@xyflow/react';
import type { Connection, EdgeChange, Node, NodeChange, NodeProps } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import type { AutomationApi } from '../api/automation';
import type { ChannelView } from '../api/channels';
import type { SessionTag } from '../api/contacts';
import type { Member } from '../api/types';
import * as D from '../automation/document';
import type { Step, StepBody, StepNodeData } from '../automation/document';
import { FlowEditorController } from '../automation/flowEditorController';
import { fullTime } from '../lib/time';
import { PreviewChat } from './PreviewChat';
import { Switch } from './SettingsControls';

interface Props {
  api: AutomationApi;
  /** What the pickers offer: the project's channels, members and session tags. */
  lookups: Lookups;
  projectId: number;
  flowId: number;
  onBack: () => void;
  onUnauthenticated: () => void;
}

type StepNode = Node<StepNodeData, 'step'>;

export interface Lookups {
  channels(): Promise<ChannelView[]>;
  members(): Promise<Member[]>;
  tags(): Promise<SessionTag[]>;
}

interface Picks {
  channels: ChannelView[];
  members: Member[];
  tags: SessionTag[];
}

const NODE_TYPES = { step: memo(StepNodeView) };

export function FlowEditor({ api, lookups, projectId, flowId, onBack, onUnauthenticated }: Props) {
  const [controller] = useState(() => new FlowEditorController({ api, projectId, flowId, onUnauthenticated }));
  useEffect(() => {
    void controller.start();
    return () => controller.stop();
  }, [controller]);
  const state = useSyncExternalStore(controller.subscribe, controller.getState);
  const [picks, setPicks] = useState<Picks>({ channels: [], members: [], tags: [] });
  useEffect(() => {
    let live = true;
    // Each list is a convenience: without it the picker offers what the draft already names.
    const load = <K extends keyof Picks>(key: K, p: Promise<Picks[K]>) =>
      p.then(
        (v) => live && setPicks((old) => ({ ...old, [key]: v })),
        () => undefined,
      );
    void load('channels', lookups.channels());
    void load('members', lookups.members());
    void load('tags', lookups.tags());
    return () => {
      live = false;
    };
  }, [lookups]);

  const { doc, problems, selected, flow } = state;
  const graph = useMemo(() => D.toGraph(doc, problems), [doc, problems]);
  // React Flow keeps what it measured on its nodes; the document says everything else.
  const [nodes, setNodes] = useState<StepNode[]>([]);
  useEffect(() => {
    setNodes((prev) =>
      graph.nodes.map((g) => {
        const old = prev.find((p) => p.id === g.id);
        return { ...(old ?? {}), id: g.id, type: 'step', position: g.position, data: g.data, selected: g.id === selected } as StepNode;
      }),
    );
  }, [graph, selected]);
  const edges = useMemo(() => graph.edges.map((e) => ({ ...e, label: e.label || undefined })), [graph]);

  const onNodesChange = useCallback(
    (changes: NodeChange<StepNode>[]) => {
      setNodes((ns) => applyNodeChanges(changes, ns));
      for (const c of changes) {
        if (c.type === 'position' && c.position) controller.move(c.id, c.position);
        if (c.type === 'remove') controller.removeStep(c.id);
      }
    },
    [controller],
  );
  const onEdgesChange = useCallback(
    (changes: EdgeChange[]) => {
      for (const c of changes) {
        if (c.type !== 'remove') continue;
        const e = controller.getState().doc.edges.find((x) => D.edgeId(x) === c.id);
        if (e) controller.connect(e.from, e.port, null);
      }
    },
    [controller],
  );
  const onConnect = useCallback(
    (c: Connection) => {
      if (c.source && c.target) controller.connect(c.source, c.sourceHandle ?? 'next', c.target);
    },
    [controller],
  );

  if (state.load.kind === 'loading' && !flow) return <div className="automation-page muted" aria-busy="true">Loading…</div>;
  if (state.load.kind === 'error' && !flow) {
    return (
      <div className="automation-page">
        <div className="notice notice-danger" role="alert" data-testid="flow-load-error">
          {state.load.message}{' '}
          <button type="button" className="link" onClick={() => void controller.load()}>
            Try again
          </button>
        </div>
        <button type="button" className="link" onClick={onBack}>
          All flows
        </button>
      </div>
    );
  }

  const { general } = D.problemsByStep(problems);
  const step = selected ? doc.steps.find((s) => s.id === selected) : undefined;
  const busy = state.busy !== null;

  return (
    <div className="flow-editor" data-testid="flow-editor">
      <div className="flow-toolbar">
        <button type="button" className="btn btn-ghost btn-sm" data-testid="flow-back" onClick={onBack}>
          ← All flows
        </button>
        <input className="flow-name-input" data-testid="flow-name" aria-label="Flow name" value={state.name} maxLength={200} onChange={(e) => controller.rename(e.target.value)} />
        <span className="flow-version muted" data-testid="flow-version">
          {flow?.published_version ? `Published v${flow.published_version}` : 'Not published'}
          {state.dirty ? ' · unsaved changes' : flow?.has_unpublished_changes && flow.published_version ? ' · unpublished changes' : ''}
        </span>
        <span className="topbar-spacer" />
        <label className="flow-enabled">
          <Switch id="flow-enabled" testId="flow-enabled" checked={!!flow?.enabled} disabled={busy || (!flow?.enabled && !flow?.published_version)} onChange={(v) => void controller.setEnabled(v)} />
          <span>{flow?.enabled ? 'Enabled' : 'Disabled'}</span>
        </label>
        <button
          type="button"
          className="btn btn-sm btn-ghost"
          data-testid="flow-delete"
          disabled={busy}
          onClick={async () => {
            if (window.confirm(`Delete the flow “${state.name}”? This cannot be undone.`) && (await controller.deleteFlow())) onBack();
          }}
        >
          Delete
        </button>
        <button type="button" className="btn btn-sm" data-testid="flow-test-run" disabled={busy || state.preview.kind === 'starting'} onClick={() => void controller.testRun()}>
          Test run
        </button>
        <button type="button" className="btn btn-sm" data-testid="flow-save" disabled={busy} onClick={() => void controller.save()}>
          {state.busy === 'saving' ? 'Saving…' : 'Save'}
        </button>
        <button type="button" className="btn btn-primary btn-sm" data-testid="flow-publish" disabled={busy} onClick={() => void controller.publish()}>
          {state.busy === 'publishing' ? 'Publishing…' : 'Publish'}
        </button>
      </div>
      {state.notice && (
        <div className={`flow-notice flow-notice-${state.notice.kind}`} role={state.notice.kind === 'error' ? 'alert' : 'status'} data-testid="flow-notice" data-kind={state.notice.kind}>
          {state.notice.message}
        </div>
      )}
      <div className="flow-body">
        <div className="flow-palette" aria-label="Add a step">
          <p className="flow-side-title">Add a step</p>
          {D.STEP_TYPES.map((t) => (
            <button key={t.type} type="button" className={`flow-palette-item flow-type-${t.type}`} data-testid={`add-step-${t.type}`} onClick={() => controller.addStep(t.type)}>
              {t.label}
            </button>
          ))}
          <p className="flow-side-title">Steps</p>
          <ul className="flow-step-list">
            {doc.steps.map((s) => (
              <li key={s.id}>
                <button
                  type="button"
                  className={`flow-step-list-item${s.id === selected ? ' flow-step-list-active' : ''}`}
                  data-testid="step-list-item"
                  data-step-id={s.id}
                  aria-pressed={s.id === selected}
                  onClick={() => controller.select(s.id)}
                >
                  <span className="flow-step-list-type">{D.stepTypeLabel(s.type)}</span> {s.id}
                  {(graph.nodes.find((n) => n.id === s.id)?.data.problems.length ?? 0) > 0 && <span className="flow-problem-dot" aria-label="has problems" />}
                </button>
              </li>
            ))}
          </ul>
        </div>
        <div className="flow-canvas" data-testid="flow-canvas">
          <ReactFlow
            nodes={nodes}
            edges={edges}
            nodeTypes={NODE_TYPES}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            onNodeClick={(_, n) => controller.select(n.id)}
            onPaneClick={() => controller.select(null)}
            fitView
            fitViewOptions={{ maxZoom: 1 }}
            proOptions={{ hideAttribution: true }}
          >
            <Background />
            <Controls showInteractive={false} />
          </ReactFlow>
        </div>
        <div className="flow-side" data-testid="flow-side">
          <div className="flow-side-tabs" role="tablist">
            <button type="button" role="tab" aria-selected={!step} data-testid="panel-trigger" onClick={() => controller.select(null)}>
              Trigger
            </button>
            {step && (
              <button type="button" role="tab" aria-selected>
                Step {step.id}
              </button>
            )}
          </div>
          {step ? (
            <StepPanel key={step.id} step={step} doc={doc} picks={picks} controller={controller} />
          ) : (
            <TriggerPanel doc={doc} channels={picks.channels} controller={controller} />
          )}
          {problems.length > 0 && (
            <div className="flow-problems" data-testid="flow-problems" role="region" aria-label="Problems">
              <p className="flow-side-title">Problems ({problems.length})</p>
              <ul>
                {problems.map((p, i) => (
                  <li key={i} data-testid="flow-problem" data-step={p.step ?? ''} data-code={p.code}>
                    {p.step ? (
                      <button type="button" className="link" onClick={() => controller.select(p.step)}>
                        {p.message}
                      </button>
                    ) : (
                      p.message
                    )}
                  </li>
                ))}
              </ul>
              {general.length === 0 && null}
            </div>
          )}
          {flow && (flow.versions ?? []).length > 0 && (
            <div className="flow-versions">
              <p className="flow-side-title">Versions</p>
              <ul>
                {flow.versions.map((v) => (
                  <li key={v.version} className="muted">
                    v{v.version} · {fullTime(v.published_at)}
                    {v.published_by_name ? ` · ${v.published_by_name}` : ''}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
        {state.preview.kind === 'ready' && <PreviewChat key={state.preview.n} preview={state.preview.preview} onClose={() => controller.closePreview()} />}
        {state.preview.kind === 'starting' && (
          <aside className="preview-chat" aria-busy="true">
            <p className="muted">Starting a test run…</p>
          </aside>
        )}
      </div>
    </div>
  );
}

/** What the funnel adds to a node (analytics/funnel.ts): its counts, and per port the runs that took it. */
interface NodeCounts {
  counts?: { reached: number; waiting: number; stopped: number };
  /** Drawn without the version's document: the type only. */
  bare?: boolean;
}

/** A step as a node; the editor's and, read-only with counts, the funnel's. */
export function StepNodeView({ data, selected }: NodeProps<StepNode>) {
  const { step, isStart, problems, ports } = data;
  const { counts, bare } = data as StepNodeData & NodeCounts;
  return (
    <div
      className={`flow-node flow-type-${step.type}${selected ? ' flow-node-selected' : ''}${problems.length ? ' flow-node-invalid' : ''}`}
      data-testid="flow-node"
      data-step-id={step.id}
      data-step-type={step.type}
    >
      <Handle type="target" position={Position.Left} className="flow-handle-in" />
      <div className="flow-node-head">
        <span className="flow-node-type">{D.stepTypeLabel(step.type)}</span>
        {isStart && (
          <span className="flow-node-start" data-testid="flow-node-start">
            Start
          </span>
        )}
      </div>
      {!bare && <div className="flow-node-text">{D.stepSummary(step)}</div>}
      {counts && (
        <div className="flow-node-counts" data-testid="funnel-node-counts" data-reached={counts.reached} data-waiting={counts.waiting} data-stopped={counts.stopped}>
          <span title="Runs that reached this step">
            <b>{counts.reached}</b> reached
          </span>
          {counts.waiting > 0 && (
            <span className="flow-node-waiting" title="Runs waiting here now">
              {counts.waiting} waiting
            </span>
          )}
          {counts.stopped > 0 && (
            <span className="flow-node-stopped" title="Runs that ended here without completing">
              {counts.stopped} stopped
            </span>
          )}
        </div>
      )}
      {problems.length > 0 && (
        <ul className="flow-node-problems">
          {problems.map((p, i) => (
            <li key={i} data-testid="flow-node-problem" data-code={p.code} role="alert">
              {p.message}
            </li>
          ))}
        </ul>
      )}
      {ports.length > 0 && (
        <div className="flow-node-ports">
          {ports.map((p) => (
            <div key={p.id} className={`flow-port${p.connected ? '' : p.optional ? ' flow-port-optional' : ' flow-port-open'}`} data-testid="flow-node-port" data-port={p.id}>
              <span>{p.label}</span>
              {counts && <span className="flow-port-taken" data-testid="funnel-port-taken">{(p as D.Port & { taken?: number }).taken ?? 0}</span>}
              <Handle type="source" id={p.id} position={Position.Right} className="flow-handle-out" />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

function StepPanel({ step, doc, picks, controller }: { step: Step; doc: D.FlowDocument; picks: Picks; controller: FlowEditorController }) {
  const update = (body: StepBody) => controller.updateStep(step.id, body);
  const others = doc.steps.filter((s) => s.id !== step.id);
  return (
    <div className="flow-panel" data-testid="step-panel" data-step-id={step.id}>
      <label className="flow-field">
        <span>Type</span>
        <select data-testid="step-type" value={step.type} onChange={(e) => controller.changeType(step.id, e.target.value as D.StepType)}>
          {D.STEP_TYPES.map((t) => (
            <option key={t.type} value={t.type}>
              {t.label}
            </option>
          ))}
        </select>
      </label>
      <StepFields step={step} picks={picks} update={update} />
      <div className="flow-ports-panel">
        <p className="flow-side-title">Where it goes</p>
        {D.portsOf(step).length === 0 && <p className="muted">An End step finishes the run.</p>}
        {D.portsOf(step).map((p) => (
          <label key={p.id} className="flow-field">
            <span>
              {p.label}
              {p.optional ? ' (optional)' : ''}
            </span>
            <select
              data-testid="port-target"
              data-port={p.id}
              aria-label={`${p.label} goes to`}
              value={D.target(doc, step.id, p.id) ?? ''}
              onChange={(e) => controller.connect(step.id, p.id, e.target.value || null)}
            >
              <option value="">— not connected —</option>
              {others.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.id} ({D.stepTypeLabel(s.type)})
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
      <div className="flow-panel-actions">
        {doc.start !== step.id && (
          <button type="button" className="btn btn-sm" data-testid="step-set-start" onClick={() => controller.setStart(step.id)}>
            Make it the start
          </button>
        )}
        <button type="button" className="btn btn-sm btn-danger-outline" data-testid="step-delete" onClick={() => controller.removeStep(step.id)}>
          Delete step
        </button>
      </div>
    </div>
  );
}

const nullable = (v: string): string | null => (v.trim() ? v : null);

function StepFields({ step, picks, update }: { step: Step; picks: Picks; update: (b: StepBody) => void }) {
  switch (step.type) {
    case 'message':
      return (
        <>
          <TextArea label="Message" testId="step-text" value={step.text} onChange={(text) => update({ ...step, text })} />
          <div className="flow-buttons">
            <p className="flow-side-title">Buttons</p>
            {step.buttons.map((b) => (
              <div key={b.id} className="flow-button-row" data-testid="step-button" data-button-id={b.id}>
                <input
                  type="text"
                  data-testid="step-button-title"
                  aria-label={`Title of button ${b.id}`}
                  value={b.title}
                  maxLength={20}
                  onChange={(e) => update({ ...step, buttons: step.buttons.map((x) => (x.id === b.id ? { ...x, title: e.target.value } : x)) })}
                />
                <button type="button" className="btn btn-ghost btn-sm" data-testid="step-button-remove" aria-label={`Remove button ${b.id}`} onClick={() => update(D.withoutButton(step, b.id))}>
                  ✕
                </button>
              </div>
            ))}
            {step.buttons.length < 10 && (
              <button type="button" className="btn btn-sm" data-testid="step-add-button" onClick={() => update(D.withButton(step))}>
                Add button
              </button>
            )}
          </div>
        </>
      );
    case 'question':
      return (
        <>
          <TextArea label="Question" testId="step-text" value={step.text} onChange={(text) => update({ ...step, text })} />
          <label className="flow-field">
            <span>Answer</span>
            <select data-testid="step-answer" value={step.answer} onChange={(e) => update({ ...step, answer: e.target.value as D.AnswerKind })}>
              <option value="text">Free text</option>
              <option value="email">E-mail address</option>
              <option value="phone">Phone number</option>
            </select>
          </label>
          <label className="flow-field">
            <span>Save the answer to</span>
            <select data-testid="step-save-to" value={step.save_to ?? ''} onChange={(e) => update({ ...step, save_to: (e.target.value || null) as D.ContactField | null })}>
              <option value="">Nowhere</option>
              <option value="note_name">Note name</option>
              <option value="email">E-mail</option>
              <option value="phone">Phone</option>
            </select>
          </label>
          <label className="flow-field">
            <span>Retries after an invalid answer</span>
            <input type="number" data-testid="step-retries" min={0} max={5} value={step.retries} onChange={(e) => update({ ...step, retries: Number(e.target.value) })} />
          </label>
          <TextArea label="Asked again after an invalid answer (optional)" testId="step-retry-text" value={step.retry_text ?? ''} onChange={(v) => update({ ...step, retry_text: nullable(v) })} />
        </>
      );
    case 'condition':
      return <RuleFields step={step} update={update} />;
    case 'wait':
      return (
        <label className="flow-field">
          <span>Wait (seconds; a visitor reply interrupts it)</span>
          <input type="number" data-testid="step-seconds" min={1} value={step.seconds} onChange={(e) => update({ ...step, seconds: Number(e.target.value) })} />
        </label>
      );
    case 'add_label':
      return (
        <label className="flow-field">
          <span>Visitor label</span>
          <input type="text" data-testid="step-label" maxLength={64} value={step.label} onChange={(e) => update({ ...step, label: e.target.value })} />
        </label>
      );
    case 'add_tag':
      return (
        <label className="flow-field">
          <span>Session tag</span>
          <select data-testid="step-tag-id" value={step.tag_id || ''} onChange={(e) => update({ ...step, tag_id: Number(e.target.value) })}>
            <option value="">— pick a tag —</option>
            {step.tag_id > 0 && !picks.tags.some((t) => t.id === step.tag_id) && <option value={step.tag_id}>Tag #{step.tag_id}</option>}
            {picks.tags.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
      );
    case 'handoff':
      return (
        <>
          <label className="flow-field">
            <span>Assign to (hosting goes off)</span>
            <select data-testid="step-assignee" value={step.assignee ?? ''} onChange={(e) => update({ ...step, assignee: e.target.value ? Number(e.target.value) : null })}>
              <option value="">The queue (unassigned)</option>
              {step.assignee !== null && !picks.members.some((m) => m.user_id === step.assignee) && <option value={step.assignee}>Member #{step.assignee}</option>}
              {picks.members.map((m) => (
                <option key={m.user_id} value={m.user_id}>
                  {m.display_name || m.email}
                </option>
              ))}
            </select>
          </label>
          <TextArea label="Message to the visitor (optional)" testId="step-text" value={step.text ?? ''} onChange={(v) => update({ ...step, text: nullable(v) })} />
        </>
      );
    case 'end':
      return <TextArea label="Last message (optional)" testId="step-text" value={step.text ?? ''} onChange={(v) => update({ ...step, text: nullable(v) })} />;
  }
}

function RuleFields({ step, update }: { step: Extract<Step, { type: 'condition' }>; update: (b: StepBody) => void }) {
  const rule = step.rule;
  const setRule = (r: D.Rule) => update({ ...step, rule: r });
  const defaults: Record<D.Rule['kind'], D.Rule> = {
    has_label: { kind: 'has_label', label: '' },
    field_present: { kind: 'field_present', field: 'email' },
    channel_kind: { kind: 'channel_kind', channel: 'web' },
    returning_visitor: { kind: 'returning_visitor' },
    session_state: { kind: 'session_state', state: 'hosted' },
  };
  return (
    <>
      <label className="flow-field">
        <span>Condition</span>
        <select data-testid="step-rule" value={rule.kind} onChange={(e) => setRule(defaults[e.target.value as D.Rule['kind']])}>
          <option value="has_label">Visitor has a label</option>
          <option value="field_present">A contact field is known</option>
          <option value="channel_kind">Channel kind</option>
          <option value="returning_visitor">Returning visitor</option>
          <option value="session_state">Session state</option>
        </select>
      </label>
      {rule.kind === 'has_label' && (
        <label className="flow-field">
          <span>Label</span>
          <input type="text" data-testid="step-rule-label" value={rule.label} onChange={(e) => setRule({ ...rule, label: e.target.value })} />
        </label>
      )}
      {rule.kind === 'field_present' && (
        <label className="flow-field">
          <span>Field</span>
          <select data-testid="step-rule-field" value={rule.field} onChange={(e) => setRule({ ...rule, field: e.target.value as D.ContactField })}>
            <option value="note_name">Note name</option>
            <option value="email">E-mail</option>
            <option value="phone">Phone</option>
          </select>
        </label>
      )}
      {rule.kind === 'channel_kind' && (
        <label className="flow-field">
          <span>Channel</span>
          <select data-testid="step-rule-channel" value={rule.channel} onChange={(e) => setRule({ ...rule, channel: e.target.value as 'web' | 'messenger' })}>
            <option value="web">Web widget</option>
            <option value="messenger">Messenger</option>
          </select>
        </label>
      )}
      {rule.kind === 'session_state' && (
        <label className="flow-field">
          <span>State</span>
          <select data-testid="step-rule-state" value={rule.state} onChange={(e) => setRule({ ...rule, state: e.target.value as D.SessionState })}>
            <option value="hosted">Hosted</option>
            <option value="unassigned">Unassigned</option>
            <option value="assigned">Assigned</option>
          </select>
        </label>
      )}
      <p className="muted">“true” and “false” below say where each outcome goes.</p>
    </>
  );
}

function TextArea({ label, testId, value, onChange }: { label: string; testId: string; value: string; onChange: (v: string) => void }) {
  return (
    <label className="flow-field">
      <span>{label}</span>
      <textarea data-testid={testId} rows={3} maxLength={2000} value={value} onChange={(e) => onChange(e.target.value)} />
    </label>
  );
}

const STATES: D.SessionState[] = ['hosted', 'unassigned', 'assigned'];
const STATE_LABELS: Record<D.SessionState, string> = { hosted: 'Hosted', unassigned: 'Unassigned', assigned: 'Assigned' };

function TriggerPanel({ doc, channels, controller }: { doc: D.FlowDocument; channels: ChannelView[]; controller: FlowEditorController }) {
  const t = doc.trigger;
  const c = doc.conditions;
  return (
    <div className="flow-panel" data-testid="trigger-panel">
      <label className="flow-field">
        <span>Starts when</span>
        <select data-testid="trigger-kind" value={t.kind} onChange={(e) => controller.setTrigger(D.defaultTrigger(e.target.value as D.Trigger['kind']))}>
          {(Object.keys(D.TRIGGER_LABELS) as D.Trigger['kind'][]).map((k) => (
            <option key={k} value={k}>
              {D.TRIGGER_LABELS[k]}
            </option>
          ))}
        </select>
      </label>
      {t.kind === 'keyword' && (
        <>
          <label className="flow-field">
            <span>Keywords (comma-separated, case-insensitive)</span>
            <input
              type="text"
              data-testid="trigger-keywords"
              value={t.keywords.join(', ')}
              onChange={(e) => controller.setTrigger({ ...t, keywords: e.target.value.split(',').map((k) => k.trim()).filter((k, i, all) => k || i === all.length - 1) })}
            />
          </label>
          <label className="flow-field">
            <span>Matching</span>
            <select data-testid="trigger-matching" value={t.matching} onChange={(e) => controller.setTrigger({ ...t, matching: e.target.value as 'exact' | 'contains' })}>
              <option value="contains">The message contains a keyword</option>
              <option value="exact">The message is exactly a keyword</option>
            </select>
          </label>
        </>
      )}
      {t.kind === 'visitor_silent' && (
        <>
          <label className="flow-field">
            <span>Minutes of silence after our last message</span>
            <input type="number" data-testid="trigger-minutes" min={1} value={t.minutes} onChange={(e) => controller.setTrigger({ ...t, minutes: Number(e.target.value) })} />
          </label>
          <label className="flow-field">
            <span>Visitors</span>
            <select data-testid="trigger-visitors" value={t.visitors} onChange={(e) => controller.setTrigger({ ...t, visitors: e.target.value as D.VisitorKind })}>
              <option value="both">New and returning</option>
              <option value="new">New visitors</option>
              <option value="returning">Returning visitors</option>
            </select>
          </label>
          <fieldset className="flow-fieldset">
            <legend>Session state (none ticked: any)</legend>
            {STATES.map((s) => (
              <label key={s} className="flow-check">
                <input
                  type="checkbox"
                  data-testid={`trigger-state-${s}`}
                  checked={t.session_states.includes(s)}
                  onChange={(e) => controller.setTrigger({ ...t, session_states: D.toggled(t.session_states, s, e.target.checked) })}
                />
                {STATE_LABELS[s]}
              </label>
            ))}
          </fieldset>
          <label className="flow-check">
            <Switch id="trigger-off-platform" testId="trigger-off-platform" checked={t.off_platform} disabled={false} onChange={(v) => controller.setTrigger({ ...t, off_platform: v })} />
            Off-platform triggering: a reply sent outside Switchboard (the Page inbox) starts the silence too
          </label>
        </>
      )}
      <p className="flow-side-title">Conditions</p>
      <fieldset className="flow-fieldset">
        <legend>Channels (none ticked: all)</legend>
        {channels.length === 0 && <span className="muted">No channels loaded.</span>}
        {channels.map((ch) => (
          <label key={ch.id} className="flow-check">
            <input type="checkbox" data-testid="cond-channel" data-channel-id={ch.id} checked={c.channels.includes(ch.id)} onChange={(e) => controller.setConditions({ channels: D.toggled(c.channels, ch.id, e.target.checked) })} />
            {ch.name} ({ch.kind})
          </label>
        ))}
      </fieldset>
      <fieldset className="flow-fieldset">
        <legend>Session state (none ticked: any)</legend>
        {STATES.map((s) => (
          <label key={s} className="flow-check">
            <input type="checkbox" data-testid={`cond-state-${s}`} checked={c.session_states.includes(s)} onChange={(e) => controller.setConditions({ session_states: D.toggled(c.session_states, s, e.target.checked) })} />
            {STATE_LABELS[s]}
          </label>
        ))}
      </fieldset>
      <label className="flow-field">
        <span>Visitor has the label (optional)</span>
        <input type="text" data-testid="cond-label" value={c.contact_label ?? ''} onChange={(e) => controller.setConditions({ contact_label: nullable(e.target.value) })} />
      </label>
      <label className="flow-field">
        <span>Note name</span>
        <select
          data-testid="cond-note-name"
          value={c.note_name_present === null ? '' : String(c.note_name_present)}
          onChange={(e) => controller.setConditions({ note_name_present: e.target.value === '' ? null : e.target.value === 'true' })}
        >
          <option value="">Either way</option>
          <option value="true">The visitor has a note name</option>
          <option value="false">The visitor has no note name</option>
        </select>
      </label>
    </div>
  );
}
