// A version's funnel as the page draws it: the steps in graph order (breadth-first from the
// start, each step's ports in their order), the counts on each node and edge, and the bars.
// The counts are the server's (recorded step transitions); the graph only places them. A
// version whose document could not be read (a failed request) is drawn
// from the funnel's own steps and edges, in layers by distance from the start.
import type { Funnel, FunnelStep } from '../api/analytics';
import * as D from '../automation/document';
import type { FlowDocument, GraphNode, Position, Step, StepType } from '../automation/document';
import { share } from './format';

export interface StepCounts {
  reached: number;
  waiting: number;
  stopped: number;
}

export interface FunnelBar extends StepCounts {
  step_id: string;
  step_type: string;
  label: string;
  /** reached / runs, 0..1. */
  share: number;
}

export interface FunnelNodeData {
  step: Step;
  isStart: boolean;
  problems: [];
  ports: (D.Port & { connected: boolean; taken: number })[];
  counts: StepCounts;
  /** No document: the node shows its type only. */
  bare: boolean;
  [key: string]: unknown;
}

export interface FunnelGraphNode {
  id: string;
  position: Position;
  data: FunnelNodeData;
}

export interface FunnelGraphEdge {
  id: string;
  source: string;
  sourceHandle: string;
  target: string;
  label: string;
  taken: number;
}

export interface FunnelLayout {
  order: string[];
  bars: FunnelBar[];
  nodes: FunnelGraphNode[];
  edges: FunnelGraphEdge[];
  runs: number;
  completed: number;
}

const ZERO: StepCounts = { reached: 0, waiting: 0, stopped: 0 };
const edgeKey = (from: string, port: string, to: string) => `${from}:${port}->${to}`;

function typeLabel(type: string): string {
  return D.STEP_TYPES.some((t) => t.type === type) ? D.stepTypeLabel(type as StepType) : type;
}

/** Breadth-first order from `start` over `next(id)`; what it never reaches follows, as listed. */
export function bfsOrder(start: string | null, all: readonly string[], next: (id: string) => string[]): { order: string[]; depth: Map<string, number> } {
  const depth = new Map<string, number>();
  const order: string[] = [];
  const known = new Set(all);
  const queue: string[] = [];
  if (start !== null && known.has(start)) {
    depth.set(start, 0);
    queue.push(start);
  }
  while (queue.length) {
    const id = queue.shift()!;
    order.push(id);
    for (const to of next(id)) {
      if (!known.has(to) || depth.has(to)) continue;
      depth.set(to, depth.get(id)! + 1);
      queue.push(to);
    }
  }
  for (const id of all) if (!depth.has(id)) order.push(id);
  return { order, depth };
}

/** The start of a funnel without its document: the most reached step nothing leads into. */
function guessStart(funnel: Funnel): string | null {
  const into = new Set(funnel.edges.map((e) => e.to));
  const roots = funnel.steps.filter((s) => !into.has(s.step_id));
  const pool = roots.length ? roots : funnel.steps;
  return pool.reduce<FunnelStep | null>((best, s) => (!best || s.reached > best.reached ? s : best), null)?.step_id ?? null;
}

export function funnelLayout(doc: FlowDocument | null, funnel: Funnel): FunnelLayout {
  const counts = new Map(funnel.steps.map((s) => [s.step_id, { reached: s.reached, waiting: s.waiting, stopped: s.stopped }]));
  const taken = new Map(funnel.edges.map((e) => [edgeKey(e.from, e.port, e.to), e.taken]));
  const takenFrom = (from: string, port: string) => funnel.edges.filter((e) => e.from === from && e.port === port).reduce((n, e) => n + e.taken, 0);
  const types = new Map(funnel.steps.map((s) => [s.step_id, s.step_type]));

  let nodes: FunnelGraphNode[];
  let edges: FunnelGraphEdge[];
  let order: string[];

  if (doc) {
    const ids = doc.steps.map((s) => s.id);
    const stepOf = new Map(doc.steps.map((s) => [s.id, s]));
    ({ order } = bfsOrder(doc.start, ids, (id) => {
      const s = stepOf.get(id);
      return s ? D.portsOf(s).map((p) => D.target(doc, id, p.id)).filter((t): t is string => t !== null) : [];
    }));
    // Steps the funnel counted that this document lacks cannot be drawn; they still get bars.
    for (const s of funnel.steps) if (!stepOf.has(s.step_id)) order.push(s.step_id);
    const graph = D.toGraph(doc, []);
    nodes = graph.nodes.map((n: GraphNode) => ({
      id: n.id,
      position: n.position,
      data: {
        step: n.data.step,
        isStart: n.data.isStart,
        problems: [],
        ports: n.data.ports.map((p) => ({ ...p, taken: takenFrom(n.id, p.id) })),
        counts: counts.get(n.id) ?? ZERO,
        bare: false,
      },
    }));
    edges = graph.edges.map((e) => {
      const t = taken.get(e.id) ?? 0;
      return { ...e, taken: t, label: e.label ? `${e.label} · ${t}` : String(t) };
    });
    for (const s of doc.steps) types.set(s.id, types.get(s.id) ?? s.type);
  } else {
    const ids = funnel.steps.map((s) => s.step_id);
    const outs = (id: string) =>
      funnel.edges
        .filter((e) => e.from === id)
        .sort((a, b) => b.taken - a.taken)
        .map((e) => e.to);
    const bfs = bfsOrder(guessStart(funnel), ids, outs);
    order = bfs.order;
    const start = order[0] ?? null;
    const maxDepth = Math.max(0, ...bfs.depth.values());
    const rows = new Map<number, number>();
    nodes = order.map((id) => {
      const layer = bfs.depth.get(id) ?? maxDepth + 1;
      const row = rows.get(layer) ?? 0;
      rows.set(layer, row + 1);
      const type = types.get(id) ?? 'end';
      const known = D.STEP_TYPES.some((t) => t.type === type);
      const step = { ...D.defaultBody((known ? type : 'end') as StepType), id } as Step;
      const ports = [...new Set(funnel.edges.filter((e) => e.from === id).map((e) => e.port))].map((p) => ({
        id: p,
        label: p,
        optional: false,
        connected: true,
        taken: takenFrom(id, p),
      }));
      return { id, position: { x: layer * 300, y: row * 180 }, data: { step, isStart: id === start, problems: [], ports, counts: counts.get(id) ?? ZERO, bare: true } };
    });
    edges = funnel.edges.map((e) => ({ id: edgeKey(e.from, e.port, e.to), source: e.from, sourceHandle: e.port, target: e.to, taken: e.taken, label: e.port === 'next' ? String(e.taken) : `${e.port} · ${e.taken}` }));
  }

  const bars = order.map((id) => {
    const c = counts.get(id) ?? ZERO;
    const type = types.get(id) ?? '';
    return { step_id: id, step_type: type, label: typeLabel(type), ...c, share: share(c.reached, funnel.runs) };
  });
  return { order, bars, nodes, edges, runs: funnel.runs, completed: funnel.completed };
}

/** The versions a funnel may be asked for: the published one first, down to 1. */
export function versionChoices(published: number | null): number[] {
  if (!published || published < 1) return [];
  return Array.from({ length: published }, (_, i) => published - i);
}
