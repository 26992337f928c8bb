// Live session records: the agent socket's frames applied to the rows on screen, so message
// counts, receptionist, status and contact details move as they happen instead of waiting
// for a reload. Pure functions; the controller owns the list and the timers.
//
// Counting: a `message` frame counts once per (session, seq). Rows from REST carry no seq,
// so the first frame after a load is trusted; after that, replays (a socket resume) and
// duplicates are dropped. A `session` frame carries the server's counters with `last_seq`:
// counters only move forward (max), so an older frame never undoes a newer count.
import type { Member, Session } from '../api/types';
import type { RecordContact, RecordStatus, SessionRecord } from '../api/reports';
import type { ServerFrame } from '../realtime/protocol';
import type { RecordTab } from './filters';
import type { ReportFilter } from '../api/reports';

/** A contact's customer info changed (docs/protocol.md, `contact`). */
export interface ContactFrameLike {
  type: 'contact';
  contact: RecordContact & Record<string, unknown>;
}

export type LiveFrame = ServerFrame | ContactFrameLike;

export interface LiveRecords {
  items: readonly SessionRecord[];
  /** Highest seq counted per session (only for sessions with live news). */
  lastSeq: Readonly<Record<number, number>>;
  /** Sessions not on screen that now match the list (shown as "N new"). */
  newIds: readonly number[];
}

export interface LiveContext {
  tab: RecordTab;
  /** The list's filter (without status). */
  filter: ReportFilter;
  members: readonly Member[];
  /** The viewer, for `receptionist=me` and the own data scope. */
  userId: number;
  dataScope: 'own' | 'all';
}

export function liveFrom(items: readonly SessionRecord[]): LiveRecords {
  return { items, lastSeq: {}, newIds: [] };
}

export function tabOf(status: RecordStatus): RecordTab {
  return status === 'ended' ? 'ended' : 'ongoing';
}

function receptionistName(members: readonly Member[], id: number): string {
  const m = members.find((x) => x.user_id === id);
  return m ? m.display_name || m.email : `User #${id}`;
}

/** Whether a row on screen still belongs on this list after a `session` frame. */
export function stillMatches(s: Session, ctx: LiveContext): boolean {
  if (tabOf(s.status) !== ctx.tab) return false;
  if (ctx.dataScope === 'own' && s.assignee_id !== ctx.userId) return false;
  const r = ctx.filter.receptionist;
  if (r !== undefined && s.assignee_id !== (r === 'me' ? ctx.userId : r)) return false;
  if (ctx.filter.channel !== undefined && s.channel_id !== ctx.filter.channel) return false;
  return true;
}

/** Whether a session not on screen (as a `session` frame has it) belongs on this list. */
export function sessionMatches(s: Session, ctx: LiveContext): boolean {
  if (!stillMatches(s, ctx)) return false;
  if (ctx.filter.tag !== undefined) return false; // tags are not in the frame: wait for a reload
  if (ctx.filter.received_from || ctx.filter.received_to) {
    if (!s.received_at) return false;
    const t = Date.parse(s.received_at);
    if (ctx.filter.received_from && t < Date.parse(ctx.filter.received_from)) return false;
    if (ctx.filter.received_to && t >= Date.parse(ctx.filter.received_to)) return false;
  }
  return true;
}

/** A row updated from the server's view of its session. */
export function recordFromSession(r: SessionRecord, s: Session, members: readonly Member[]): SessionRecord {
  let receptionist = r.receptionist;
  if (s.assignee_id === null) receptionist = null;
  else if (receptionist?.id !== s.assignee_id) receptionist = { id: s.assignee_id, display_name: receptionistName(members, s.assignee_id) };
  return {
    ...r,
    status: s.status,
    receptionist,
    contact: { ...r.contact, name: s.contact_name, note_name: s.note_name },
    received_at: s.received_at ?? r.received_at,
    ended_at: s.ended_at ?? r.ended_at,
    first_response_secs: s.first_response_secs ?? r.first_response_secs,
    messages: {
      total: Math.max(r.messages.total, s.message_count),
      visitor: Math.max(r.messages.visitor, s.visitor_message_count),
      agent: Math.max(r.messages.agent, s.agent_message_count),
    },
  };
}

function replaceAt(items: readonly SessionRecord[], i: number, r: SessionRecord): SessionRecord[] {
  const out = items.slice();
  out[i] = r;
  return out;
}

/** Applies one socket frame; returns the same object when nothing on screen changes. */
export function applyFrame(state: LiveRecords, frame: LiveFrame, ctx: LiveContext): LiveRecords {
  switch (frame.type) {
    case 'message': {
      const i = state.items.findIndex((r) => r.id === frame.session_id);
      if (i < 0) return state;
      const seen = state.lastSeq[frame.session_id];
      if (seen !== undefined && frame.seq <= seen) return state;
      const lastSeq = { ...state.lastSeq, [frame.session_id]: frame.seq };
      const r = state.items[i];
      if (frame.sender === 'system') return { ...state, lastSeq };
      const m = { ...r.messages, total: r.messages.total + 1 };
      if (frame.sender === 'visitor') m.visitor += 1;
      if (frame.sender === 'agent') m.agent += 1;
      let next: SessionRecord = { ...r, messages: m };
      // An agent's reply takes an unassigned session (the `session` frame follows too).
      if (frame.sender === 'agent' && r.status === 'unassigned' && frame.sender_user_id !== null) {
        next = {
          ...next,
          status: 'assigned',
          receptionist: { id: frame.sender_user_id, display_name: receptionistName(ctx.members, frame.sender_user_id) },
          received_at: r.received_at ?? frame.created_at,
        };
      }
      return { ...state, items: replaceAt(state.items, i, next), lastSeq };
    }
    case 'session': {
      const s = frame.session;
      const i = state.items.findIndex((r) => r.id === s.id);
      if (i < 0) {
        if (!sessionMatches(s, ctx) || state.newIds.includes(s.id)) return state;
        return { ...state, newIds: [...state.newIds, s.id] };
      }
      const seen = state.lastSeq[s.id];
      const lastSeq = seen === undefined || s.last_seq > seen ? { ...state.lastSeq, [s.id]: s.last_seq } : state.lastSeq;
      const updated = recordFromSession(state.items[i], s, ctx.members);
      // Ended (or reassigned away from the filter): it leaves this list.
      if (!stillMatches(s, ctx)) {
        return { ...state, items: state.items.filter((r) => r.id !== s.id), lastSeq };
      }
      return { ...state, items: replaceAt(state.items, i, updated), lastSeq };
    }
    case 'contact': {
      const c = frame.contact;
      if (!state.items.some((r) => r.contact.id === c.id)) return state;
      const contact: RecordContact = { id: c.id, name: c.name, note_name: c.note_name ?? null, phone: c.phone ?? null, email: c.email ?? null };
      return { ...state, items: state.items.map((r) => (r.contact.id === c.id ? { ...r, contact } : r)) };
    }
    default:
      return state;
  }
}

/** Appends a further page, skipping rows already shown (a row can move while paging). */
export function appendPage(state: LiveRecords, items: readonly SessionRecord[]): LiveRecords {
  const have = new Set(state.items.map((r) => r.id));
  return { ...state, items: [...state.items, ...items.filter((r) => !have.has(r.id))] };
}
