import { describe, expect, it } from 'vitest';
import type { Member } from '../api/types';
import { makeRecord } from '../testing/fakeReports';
import { makeMessage, makeSession } from '../testing/fakes';
import { appendPage, applyFrame, liveFrom } from './liveRecords';
import type { LiveContext, LiveFrame } from './liveRecords';

const members: Member[] = [
  { user_id: 1, email: 'owner@example.com', display_name: 'Owner', role_id: 1, role_name: 'owner', joined_at: '2026-11-01T00:00:00Z' },
  { user_id: 2, email: 'ann@example.com', display_name: 'Ann', role_id: 3, role_name: 'agent', joined_at: '2026-11-01T00:00:00Z' },
];
const ctx: LiveContext = { tab: 'ongoing', filter: {}, members, userId: 1, dataScope: 'all' };
const msg = (over: Parameters<typeof makeMessage>[0]): LiveFrame => ({ type: 'message', ...makeMessage(over) });

describe('live session records', () => {
  it('counts each message once, by sender, and ignores replays', () => {
    let s = liveFrom([makeRecord({ id: 5, messages: { total: 3, visitor: 2, agent: 1 } })]);
    s = applyFrame(s, msg({ session_id: 5, seq: 4, sender: 'visitor' }), ctx);
    s = applyFrame(s, msg({ session_id: 5, seq: 5, sender: 'agent', sender_user_id: 1 }), ctx);
    s = applyFrame(s, msg({ session_id: 5, seq: 6, sender: 'bot' }), ctx);
    s = applyFrame(s, msg({ session_id: 5, seq: 7, sender: 'system' }), ctx);
    expect(s.items[0].messages).toEqual({ total: 6, visitor: 3, agent: 2 });
    // A resume replays 4..7: nothing moves.
    const before = s;
    for (const seq of [4, 5, 6, 7]) s = applyFrame(s, msg({ session_id: 5, seq, sender: 'visitor' }), ctx);
    expect(s).toBe(before);
    // Other sessions' messages leave the list alone.
    expect(applyFrame(s, msg({ session_id: 99, seq: 1 }), ctx)).toBe(s);
  });

  it('applies session frames: receptionist, first response, counters never backwards', () => {
    let s = liveFrom([makeRecord({ id: 5, status: 'unassigned', receptionist: null, received_at: null, first_response_secs: null, messages: { total: 2, visitor: 2, agent: 0 } })]);
    s = applyFrame(
      s,
      {
        type: 'session',
        session: makeSession({ id: 5, status: 'assigned', assignee_id: 2, received_at: '2026-11-24T10:02:00Z', first_response_secs: 12.5, last_seq: 3, message_count: 3, visitor_message_count: 2, agent_message_count: 1, note_name: 'VIP Jane' }),
      },
      ctx,
    );
    const r = s.items[0];
    expect(r.receptionist).toEqual({ id: 2, display_name: 'Ann' });
    expect(r.received_at).toBe('2026-11-24T10:02:00Z');
    expect(r.first_response_secs).toBe(12.5);
    expect(r.messages).toEqual({ total: 3, visitor: 2, agent: 1 });
    expect(r.contact.note_name).toBe('VIP Jane');
    // The message frame for seq 3 arrives after the session frame that counted it.
    expect(applyFrame(s, msg({ session_id: 5, seq: 3, sender: 'agent', sender_user_id: 2 }), ctx)).toBe(s);
    // A stale frame (older counters) does not undo counts.
    s = applyFrame(s, { type: 'session', session: makeSession({ id: 5, status: 'assigned', assignee_id: 2, last_seq: 1, message_count: 1, visitor_message_count: 1 }) }, ctx);
    expect(s.items[0].messages).toEqual({ total: 3, visitor: 2, agent: 1 });
  });

  it('an agent reply takes a queued session at once', () => {
    let s = liveFrom([makeRecord({ id: 5, status: 'unassigned', receptionist: null, received_at: null })]);
    s = applyFrame(s, msg({ session_id: 5, seq: 4, sender: 'agent', sender_user_id: 2, created_at: '2026-11-24T10:09:00Z' }), ctx);
    expect(s.items[0]).toMatchObject({ status: 'assigned', receptionist: { id: 2, display_name: 'Ann' }, received_at: '2026-11-24T10:09:00Z' });
  });

  it('an ended session leaves the Ongoing list; a new matching one is announced', () => {
    let s = liveFrom([makeRecord({ id: 5 }), makeRecord({ id: 6 })]);
    s = applyFrame(s, { type: 'session', session: makeSession({ id: 5, status: 'ended', assignee_id: 1, ended_at: '2026-11-24T11:00:00Z' }) }, ctx);
    expect(s.items.map((r) => r.id)).toEqual([6]);
    s = applyFrame(s, { type: 'session', session: makeSession({ id: 7, status: 'unassigned' }) }, ctx);
    s = applyFrame(s, { type: 'session', session: makeSession({ id: 7, status: 'unassigned' }) }, ctx);
    expect(s.newIds).toEqual([7]);
    // Not for this list: an ended one on Ongoing, someone else's under receptionist=me, own scope.
    const mine: LiveContext = { ...ctx, filter: { receptionist: 'me' } };
    expect(applyFrame(s, { type: 'session', session: makeSession({ id: 8, status: 'ended' }) }, ctx).newIds).toEqual([7]);
    expect(applyFrame(s, { type: 'session', session: makeSession({ id: 8, status: 'assigned', assignee_id: 2 }) }, mine).newIds).toEqual([7]);
    expect(applyFrame(s, { type: 'session', session: makeSession({ id: 8, status: 'unassigned' }) }, { ...ctx, dataScope: 'own' }).newIds).toEqual([7]);
    // Reassigned away from a receptionist filter: it leaves.
    const f = liveFrom([makeRecord({ id: 5 })]);
    expect(applyFrame(f, { type: 'session', session: makeSession({ id: 5, status: 'assigned', assignee_id: 2 }) }, mine).items).toEqual([]);
  });

  it('updates every row of a contact when its customer info changes', () => {
    let s = liveFrom([makeRecord({ id: 5 }), makeRecord({ id: 6, contact: { id: 50, name: 'Visitor 5', note_name: null, phone: null, email: null } }), makeRecord({ id: 7 })]);
    s = applyFrame(
      s,
      { type: 'contact', contact: { id: 50, project_id: 1, channel_id: 1, external_id: 'x', name: 'Visitor 5', note_name: 'VIP Jane', phone: '+1 555 0100', email: 'jane@example.com', labels: [], created_at: '', updated_at: '' } } as LiveFrame,
      ctx,
    );
    expect(s.items.filter((r) => r.contact.note_name === 'VIP Jane').map((r) => r.id)).toEqual([5, 6]);
    expect(s.items[0].contact).toEqual({ id: 50, name: 'Visitor 5', note_name: 'VIP Jane', phone: '+1 555 0100', email: 'jane@example.com' });
    expect(s.items[2].contact.note_name).toBeNull();
  });

  it('appends pages without duplicates', () => {
    const s = appendPage(liveFrom([makeRecord({ id: 5 }), makeRecord({ id: 4 })]), [makeRecord({ id: 4 }), makeRecord({ id: 3 })]);
    expect(s.items.map((r) => r.id)).toEqual([5, 4, 3]);
  });
});
