// Shapes the analytics tests share: a flow's figures and a visitor row.
import type { FlowStats, FlowVisitor } from '../api/analytics';

export function flowStats(p: Partial<FlowStats> & { flow_id: number }): FlowStats {
  const visitors = p.triggered_visitors ?? 0;
  const participants = p.participants ?? 0;
  const completed = p.completed_visitors ?? 0;
  return {
    name: `Flow ${p.flow_id}`,
    enabled: true,
    trigger_kind: 'first_message',
    published_version: 1,
    trigger_times: visitors,
    triggered_visitors: visitors,
    participants,
    completed_visitors: completed,
    participation: visitors ? participants / visitors : null,
    completion_rate: visitors ? completed / visitors : null,
    ...p,
  };
}

export function visitor(p: Partial<FlowVisitor> & { contact_id: number }): FlowVisitor {
  return {
    name: `visitor-${p.contact_id}`,
    note_name: null,
    avatar_url: null,
    channel_id: 1,
    channel_kind: 'web',
    channel_name: 'Website',
    status: 'not_participated',
    triggers: 1,
    first_triggered_at: '2026-12-01T10:00:00Z',
    last_triggered_at: '2026-12-01T10:00:00Z',
    last_session_id: 100 + p.contact_id,
    ...p,
  };
}
