// Read-only views of the inbox state used by components.
import type { Session } from '../api/types';
import { emptyLog, hasOlder } from './chatLog';
import type { ChatLog } from './chatLog';
import type { InboxState, PendingMessage } from './reducer';
import { belongsTo, byActivity } from './tabs';
import type { TabId } from './tabs';

/** The sessions a tab shows, newest activity first. */
export function tabSessions(state: InboxState, tab: TabId): Session[] {
  const out: Session[] = [];
  for (const id of state.tabs[tab].ids) {
    const s = state.sessions[id];
    if (s && belongsTo(tab, s, state.viewer)) out.push(s);
  }
  return out.sort(byActivity);
}

/** Visitor messages that arrived since the agent last had this chat open. */
export function unreadCount(state: InboxState, sessionId: number): number {
  const s = state.sessions[sessionId];
  if (!s) return 0;
  return Math.max(0, s.visitor_message_count - (state.seen[sessionId] ?? 0));
}

export function chatLog(state: InboxState, sessionId: number): ChatLog {
  return state.logs[sessionId] ?? emptyLog;
}

export function canLoadOlder(state: InboxState, sessionId: number): boolean {
  return hasOlder(chatLog(state, sessionId));
}

export function pendingFor(state: InboxState, sessionId: number): PendingMessage[] {
  return state.pending.filter((p) => p.sessionId === sessionId);
}

/** Display name: the agent's note name first when one is set. */
export function displayName(s: Pick<Session, 'contact_name' | 'note_name'>): string {
  return s.note_name?.trim() || s.contact_name || 'Visitor';
}
