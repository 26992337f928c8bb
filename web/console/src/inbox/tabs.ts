// Which list tab a session belongs to. Membership is a pure function of the session, the
// viewer and its data scope, so a `session` frame that changes status or assignee moves the
// row between tabs without any bookkeeping of its own.
import type { DataScope, Session } from '../api/types';

export type TabId = 'unassigned' | 'mine' | 'all' | 'ended';

export const TAB_IDS: readonly TabId[] = ['unassigned', 'mine', 'all', 'ended'];

export interface Viewer {
  userId: number;
  dataScope: DataScope;
}

/** An `own`-scope agent sees the unassigned queue and its own sessions only. */
export function inScope(s: Session, v: Viewer): boolean {
  return v.dataScope === 'all' || s.status === 'unassigned' || s.assignee_id === v.userId;
}

export function belongsTo(tab: TabId, s: Session, v: Viewer): boolean {
  switch (tab) {
    case 'unassigned':
      return s.status === 'unassigned';
    case 'mine':
      return s.status === 'assigned' && s.assignee_id === v.userId;
    case 'all':
      return s.status !== 'ended' && inScope(s, v);
    case 'ended':
      return s.status === 'ended' && inScope(s, v);
  }
}

/** The REST query that lists a tab (GET /api/projects/{pid}/sessions). */
export function tabQuery(tab: TabId): { status: 'unassigned' | 'assigned' | 'ended' | 'open'; assignee?: 'me' } {
  switch (tab) {
    case 'unassigned':
      return { status: 'unassigned' };
    case 'mine':
      return { status: 'assigned', assignee: 'me' };
    case 'all':
      return { status: 'open' };
    case 'ended':
      return { status: 'ended' };
  }
}

/** The server's list order: newest activity first, then newest id. */
export function byActivity(a: Session, b: Session): number {
  const ta = Date.parse(a.last_message_at);
  const tb = Date.parse(b.last_message_at);
  if (ta !== tb) return tb - ta;
  return b.id - a.id;
}
