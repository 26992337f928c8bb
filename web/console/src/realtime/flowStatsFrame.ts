// `flow_stats` (docs/protocol.md): a flow's figures changed; an open analytics page refetches
// what it shows. Sent to members whose role has `automation.view` or `automation.manage`, at
// most once per flow per second.
//
// The type comes from the generated protocol once the server defines the frame; until then
// this local shape stands in (and `LocalOnlyFrames` keeps it out of protocol.ts's wire check).
// When protocol.generated.ts has it, `LocalOnlyFrames` is `never` and nothing here needs editing.
import type { ServerFrame as AnyServerFrame } from '../../../shared/protocol.generated';

type Generated = Extract<AnyServerFrame, { type: 'flow_stats' }>;

export type FlowStatsFrame = [Generated] extends [never] ? { type: 'flow_stats'; flow_id: number } : Generated;

/** Frames the console reads that the generated protocol does not have yet. */
export type LocalOnlyFrames = [Generated] extends [never] ? FlowStatsFrame : never;

export function validFlowStats(v: Record<string, unknown>): boolean {
  return typeof v.flow_id === 'number';
}
