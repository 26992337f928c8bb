// The flow document (src/domain/automation/document.rs) as the editor sees it, and every edit the
// editor makes to it as a pure function: add / remove / change a step, connect a port, move a
// node, the trigger. The graph component only draws `toGraph`'s output and reports gestures.

export type SessionState = 'hosted' | 'unassigned' | 'assigned';
export type VisitorKind = 'new' | 'returning' | 'both';
export type ContactField = 'note_name' | 'email' | 'phone';
export type AnswerKind = 'text' | 'email' | 'phone';

export type Trigger =
  | { kind: 'first_message' }
  | { kind: 'keyword'; keywords: string[]; matching: 'exact' | 'contains' }
  | { kind: 'new_session' }
  | { kind: 'visitor_silent'; minutes: number; visitors: VisitorKind; session_states: SessionState[]; off_platform: boolean };

export interface Conditions {
  channels: number[];
  session_states: SessionState[];
  contact_label: string | null;
  note_name_present: boolean | null;
}

export interface Button {
  id: string;
  title: string;
}

export type Rule =
  | { kind: 'has_label'; label: string }
  | { kind: 'field_present'; field: ContactField }
  | { kind: 'channel_kind'; channel: 'web' | 'messenger' }
  | { kind: 'returning_visitor' }
  | { kind: 'session_state'; state: SessionState };

export type StepBody =
  | { type: 'message'; text: string; buttons: Button[] }
  | { type: 'question'; text: string; answer: AnswerKind; save_to: ContactField | null; retries: number; retry_text: string | null }
  | { type: 'condition'; rule: Rule }
  | { type: 'wait'; seconds: number }
  | { type: 'add_label'; label: string }
  | { type: 'add_tag'; tag_id: number }
  | { type: 'handoff'; assignee: number | null; text: string | null }
  | { type: 'end'; text: string | null };

export type StepType = StepBody['type'];

export interface Position {
  x: number;
  y: number;
}

export type Step = StepBody & { id: string; position?: Position };

export interface Edge {
  from: string;
  port: string;
  to: string;
}

export interface FlowDocument {
  trigger: Trigger;
  conditions: Conditions;
  start: string;
  steps: Step[];
  edges: Edge[];
}

/** A problem the server found; `step` is the step it is about (null: the flow as a whole). */
export interface Problem {
  step: string | null;
  code: string;
  message: string;
}

export const STEP_TYPES: readonly { type: StepType; label: string }[] = [
  { type: 'message', label: 'Send message' },
  { type: 'question', label: 'Ask a question' },
  { type: 'condition', label: 'Condition' },
  { type: 'wait', label: 'Wait' },
  { type: 'add_label', label: 'Add visitor label' },
  { type: 'add_tag', label: 'Add session tag' },
  { type: 'handoff', label: 'Hand off to a human' },
  { type: 'end', label: 'End' },
];

export function stepTypeLabel(type: StepType): string {
  return STEP_TYPES.find((t) => t.type === type)?.label ?? type;
}

export const TRIGGER_LABELS: Record<Trigger['kind'], string> = {
  first_message: "Visitor's first message",
  keyword: 'Message matches keywords',
  new_session: 'New session',
  visitor_silent: 'Visitor timed out and did not reply',
};

export const EMPTY_CONDITIONS: Conditions = { channels: [], session_states: [], contact_label: null, note_name_present: null };

export function defaultTrigger(kind: Trigger['kind']): Trigger {
  switch (kind) {
    case 'first_message':
      return { kind };
    case 'keyword':
      return { kind, keywords: [], matching: 'contains' };
    case 'new_session':
      return { kind };
    case 'visitor_silent':
      return { kind, minutes: 10, visitors: 'both', session_states: [], off_platform: false };
  }
}

/** The server leaves out fields with defaults; the editor wants every field (and a position) present. */
export function normalize(raw: unknown): FlowDocument {
  const d = (raw ?? {}) as Partial<FlowDocument>;
  const trigger = { ...defaultTrigger(d.trigger?.kind ?? 'first_message'), ...(d.trigger ?? {}) } as Trigger;
  return {
    trigger,
    conditions: { ...EMPTY_CONDITIONS, ...(d.conditions ?? {}) },
    start: d.start ?? '',
    // Every step gets a position here, so the saved draft keeps the layout the editor shows.
    steps: (d.steps ?? []).map((s, i) => ({ ...defaultBody(s.type), ...s, position: s.position ?? autoPosition(i) }) as Step),
    edges: (d.edges ?? []).map((e) => ({ ...e, port: e.port ?? 'next' })),
  };
}

export function defaultBody(type: StepType): StepBody {
  switch (type) {
    case 'message':
      return { type, text: '', buttons: [] };
    case 'question':
      return { type, text: '', answer: 'text', save_to: null, retries: 2, retry_text: null };
    case 'condition':
      return { type, rule: { kind: 'returning_visitor' } };
    case 'wait':
      return { type, seconds: 60 };
    case 'add_label':
      return { type, label: '' };
    case 'add_tag':
      return { type, tag_id: 0 };
    case 'handoff':
      return { type, assignee: null, text: null };
    case 'end':
      return { type, text: null };
  }
}

export interface Port {
  id: string;
  label: string;
  /** An optional port may stay unconnected (a message's `other`, a wait's `replied`). */
  optional: boolean;
}

/** A step's outgoing ports, as the server defines them (StepKind::ports). */
export function portsOf(step: StepBody): Port[] {
  switch (step.type) {
    case 'message':
      if (step.buttons.length === 0) return [{ id: 'next', label: 'next', optional: false }];
      return [...step.buttons.map((b) => ({ id: b.id, label: b.title || b.id, optional: false })), { id: 'other', label: 'typed something else', optional: true }];
    case 'question':
      return [
        { id: 'next', label: 'answered', optional: false },
        { id: 'fallback', label: 'fallback (retries used up)', optional: false },
      ];
    case 'condition':
      return [
        { id: 'true', label: 'true', optional: false },
        { id: 'false', label: 'false', optional: false },
      ];
    case 'wait':
      return [
        { id: 'next', label: 'time is up', optional: false },
        { id: 'replied', label: 'visitor replied', optional: true },
      ];
    case 'end':
      return [];
    default:
      return [{ id: 'next', label: 'next', optional: false }];
  }
}

/** A step id not used in `doc`: `<type>_<n>`. */
export function freshStepId(doc: FlowDocument, type: StepType): string {
  const ids = new Set(doc.steps.map((s) => s.id));
  let n = 1;
  while (ids.has(`${type}_${n}`)) n++;
  return `${type}_${n}`;
}

/** Adds a step of `type` (the start step if it is the first), to the right of the step `near`
 *  if given, else below the others; answers the new document and id. */
export function addStep(doc: FlowDocument, type: StepType, near?: string | null): { doc: FlowDocument; id: string } {
  const id = freshStepId(doc, type);
  const pos = freePosition(doc, near);
  const step = { id, position: pos, ...defaultBody(type) } as Step;
  return { doc: { ...doc, steps: [...doc.steps, step], start: doc.steps.length === 0 ? id : doc.start }, id };
}

/** Next to `near` (or below the lowest node), moved down until it lands on no other node. */
function freePosition(doc: FlowDocument, near?: string | null): Position {
  const placed = doc.steps.map((s, i) => s.position ?? autoPosition(i));
  if (placed.length === 0) return { x: 0, y: 0 };
  const at = near ? doc.steps.findIndex((s) => s.id === near) : -1;
  const pos = at >= 0 ? { x: placed[at].x + 300, y: placed[at].y } : { x: placed[placed.length - 1].x, y: Math.max(...placed.map((p) => p.y)) + 160 };
  while (placed.some((p) => Math.abs(p.x - pos.x) < 250 && Math.abs(p.y - pos.y) < 140)) pos.y += 160;
  return pos;
}

export function autoPosition(index: number): Position {
  return { x: (index % 3) * 300, y: Math.floor(index / 3) * 200 };
}

/** Removes the step and every edge into or out of it; the start moves to the first step left. */
export function removeStep(doc: FlowDocument, id: string): FlowDocument {
  const steps = doc.steps.filter((s) => s.id !== id);
  const edges = doc.edges.filter((e) => e.from !== id && e.to !== id);
  const start = doc.start === id ? (steps[0]?.id ?? '') : doc.start;
  return { ...doc, steps, edges, start };
}

/** Points `from`'s `port` at `to` (a port has at most one edge); `to` null disconnects it. */
export function connect(doc: FlowDocument, from: string, port: string, to: string | null): FlowDocument {
  const edges = doc.edges.filter((e) => !(e.from === from && e.port === port));
  if (to !== null) edges.push({ from, port, to });
  return { ...doc, edges };
}

/** The step `from`'s `port` leads to, if connected. */
export function target(doc: FlowDocument, from: string, port: string): string | null {
  return doc.edges.find((e) => e.from === from && e.port === port)?.to ?? null;
}

/** Replaces a step's settings (its id and position stay); edges of ports it no longer has go. */
export function updateStep(doc: FlowDocument, id: string, body: StepBody): FlowDocument {
  const old = doc.steps.find((s) => s.id === id);
  if (!old) return doc;
  const step = { ...body, id, ...(old.position ? { position: old.position } : {}) } as Step;
  const ports = new Set(portsOf(step).map((p) => p.id));
  return {
    ...doc,
    steps: doc.steps.map((s) => (s.id === id ? step : s)),
    edges: doc.edges.filter((e) => e.from !== id || ports.has(e.port)),
  };
}

/** Changes a step to another type (its settings start over). */
export function changeType(doc: FlowDocument, id: string, type: StepType): FlowDocument {
  return updateStep(doc, id, defaultBody(type));
}

export function moveStep(doc: FlowDocument, id: string, position: Position): FlowDocument {
  return { ...doc, steps: doc.steps.map((s) => (s.id === id ? { ...s, position: { x: Math.round(position.x), y: Math.round(position.y) } } : s)) };
}

export function setStart(doc: FlowDocument, id: string): FlowDocument {
  return doc.steps.some((s) => s.id === id) ? { ...doc, start: id } : doc;
}

/** A message step with one more button (id unique in the step, never `next` / `other`). */
export function withButton(step: Extract<StepBody, { type: 'message' }>, title = ''): Extract<StepBody, { type: 'message' }> {
  const ids = new Set(step.buttons.map((b) => b.id));
  let n = 1;
  while (ids.has(`b${n}`)) n++;
  return { ...step, buttons: [...step.buttons, { id: `b${n}`, title }] };
}

export function withoutButton(step: Extract<StepBody, { type: 'message' }>, buttonId: string): Extract<StepBody, { type: 'message' }> {
  return { ...step, buttons: step.buttons.filter((b) => b.id !== buttonId) };
}

export function setTrigger(doc: FlowDocument, trigger: Trigger): FlowDocument {
  return { ...doc, trigger };
}

export function setConditions(doc: FlowDocument, patch: Partial<Conditions>): FlowDocument {
  return { ...doc, conditions: { ...doc.conditions, ...patch } };
}

/** A list toggled: `value` added when `on`, removed otherwise (order kept, no duplicates). */
export function toggled<T>(list: readonly T[], value: T, on: boolean): T[] {
  const rest = list.filter((v) => v !== value);
  return on ? [...rest, value] : rest;
}

/** The server's problems split by the step they name; the rest concern the flow as a whole. */
export function problemsByStep(problems: readonly Problem[]): { byStep: Record<string, Problem[]>; general: Problem[] } {
  const byStep: Record<string, Problem[]> = {};
  const general: Problem[] = [];
  for (const p of problems) {
    if (p.step) (byStep[p.step] ??= []).push(p);
    else general.push(p);
  }
  return { byStep, general };
}

/** `details.problems` of an `invalid_flow` error, if that is what it carries. */
export function problemsOfDetails(details: unknown): Problem[] | null {
  const list = (details as { problems?: unknown } | null | undefined)?.problems;
  if (!Array.isArray(list)) return null;
  return list
    .filter((p): p is Record<string, unknown> => typeof p === 'object' && p !== null)
    .map((p) => ({ step: typeof p.step === 'string' ? p.step : null, code: String(p.code ?? ''), message: String(p.message ?? '') }));
}

/** One line saying what a step does, for its node. */
export function stepSummary(step: StepBody): string {
  switch (step.type) {
    case 'message':
      return step.text || '(no text)';
    case 'question':
      return step.text || '(no question)';
    case 'condition':
      return ruleLabel(step.rule);
    case 'wait':
      return `Wait ${durationLabel(step.seconds)}`;
    case 'add_label':
      return step.label ? `Label “${step.label}”` : '(no label)';
    case 'add_tag':
      return step.tag_id ? `Tag #${step.tag_id}` : '(no tag)';
    case 'handoff':
      return step.assignee === null ? 'To the queue, hosting off' : `To member #${step.assignee}, hosting off`;
    case 'end':
      return step.text || 'End of the flow';
  }
}

export function ruleLabel(rule: Rule): string {
  switch (rule.kind) {
    case 'has_label':
      return `Has label “${rule.label}”`;
    case 'field_present':
      return `${FIELD_LABELS[rule.field]} is known`;
    case 'channel_kind':
      return rule.channel === 'web' ? 'On the web widget' : 'On Messenger';
    case 'returning_visitor':
      return 'Returning visitor';
    case 'session_state':
      return `Session is ${rule.state}`;
  }
}

export const FIELD_LABELS: Record<ContactField, string> = { note_name: 'Note name', email: 'E-mail', phone: 'Phone' };

export function durationLabel(seconds: number): string {
  if (seconds % 86400 === 0 && seconds > 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0 && seconds > 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0 && seconds > 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export interface GraphNode {
  id: string;
  position: Position;
  data: StepNodeData;
}

export interface StepNodeData {
  step: Step;
  isStart: boolean;
  problems: Problem[];
  /** The step's ports, each with whether an edge leaves it. */
  ports: (Port & { connected: boolean })[];
  [key: string]: unknown;
}

export interface GraphEdge {
  id: string;
  source: string;
  sourceHandle: string;
  target: string;
  label: string;
}

export const edgeId = (e: Edge) => `${e.from}:${e.port}->${e.to}`;

/** The document as nodes and edges (a step without a position gets one on a grid). */
export function toGraph(doc: FlowDocument, problems: readonly Problem[]): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const { byStep } = problemsByStep(problems);
  const ids = new Set(doc.steps.map((s) => s.id));
  const nodes = doc.steps.map((step, i) => ({
    id: step.id,
    position: step.position ?? autoPosition(i),
    data: {
      step,
      isStart: step.id === doc.start,
      problems: byStep[step.id] ?? [],
      ports: portsOf(step).map((p) => ({ ...p, connected: doc.edges.some((e) => e.from === step.id && e.port === p.id) })),
    },
  }));
  const edges = doc.edges
    .filter((e) => ids.has(e.from) && ids.has(e.to))
    .map((e) => {
      const from = doc.steps.find((s) => s.id === e.from)!;
      const port = portsOf(from).find((p) => p.id === e.port);
      return { id: edgeId(e), source: e.from, sourceHandle: e.port, target: e.to, label: port && port.id !== 'next' ? port.label : '' };
    });
  return { nodes, edges };
}
