import { describe, expect, it } from 'vitest';
import { makeWindow } from '../testing/fakeChannels';
import { CLOSED_TEXT, formatRemaining, nextBoundaryMs, tagForSend, windowBar } from './replyWindow';

const MIN = 60_000;
const HOUR = 60 * MIN;
const closes = Date.parse('2026-11-25T10:00:00Z');

describe('reply window', () => {
  it('counts whole minutes down, rounding down', () => {
    expect(formatRemaining(3 * HOUR + 12 * MIN + 59_000)).toBe('3 h 12 min');
    expect(formatRemaining(24 * HOUR)).toBe('24 h');
    expect(formatRemaining(23 * HOUR + 59 * MIN + 59_999)).toBe('23 h 59 min');
    expect(formatRemaining(45 * MIN)).toBe('45 min');
    expect(formatRemaining(MIN)).toBe('1 min');
    expect(formatRemaining(59_999)).toBe('less than a minute');
    expect(formatRemaining(0)).toBe('0 min');
    expect(formatRemaining(-5)).toBe('0 min');
  });

  it('an open window shows the time left, a warning in its last hour, and "closing" once passed', () => {
    const w = makeWindow({ state: 'open', window_closes_at: '2026-11-25T10:00:00Z' });
    // The person wrote 1 minute ago (23 h 59 min left).
    expect(windowBar(w, closes - (23 * HOUR + 59 * MIN))).toMatchObject({ kind: 'open', text: 'Reply window: 23 h 59 min left', tone: 'ok', disabled: false });
    expect(windowBar(w, closes - (3 * HOUR + 12 * MIN))?.text).toBe('Reply window: 3 h 12 min left');
    expect(windowBar(w, closes - HOUR)).toMatchObject({ tone: 'ok' });
    expect(windowBar(w, closes - HOUR + 1)).toMatchObject({ tone: 'warn', text: 'Reply window: 59 min left' });
    expect(windowBar(w, closes - 1000)?.text).toBe('Reply window: less than a minute left');
    // Past the boundary locally; the controller reads the window again there.
    expect(windowBar(w, closes)).toMatchObject({ kind: 'open', text: 'Reply window: closing now…', disabled: false });
  });

  it('the Human Agent period says until when', () => {
    const w = makeWindow({ state: 'human_agent', window_closes_at: '2026-11-25T10:00:00Z', human_agent_until: '2026-12-01T10:00:00Z' });
    const bar = windowBar(w, closes + MIN)!;
    expect(bar.kind).toBe('human_agent');
    expect(bar.text).toMatch(/^Human Agent period: replies allowed until /);
    expect(bar.text).toContain('2026');
    expect(bar.disabled).toBe(false);
  });

  it('past 7 days with tags asks for one; without tags it is closed with the refusal', () => {
    const tagged = windowBar(makeWindow({ state: 'tag_only', allowed_tags: ['ACCOUNT_NOTICE'] }), closes);
    expect(tagged).toMatchObject({ kind: 'tag_only', text: 'Past 7 days: pick a message tag', tags: ['ACCOUNT_NOTICE'], disabled: false });
    const untagged = windowBar(makeWindow({ state: 'tag_only', allowed_tags: [] }), closes);
    expect(untagged).toMatchObject({ kind: 'closed', disabled: true, text: CLOSED_TEXT });
    const closed = windowBar(makeWindow({ state: 'closed', refusal: 'the 7-day reply window has closed; the person must message the Page first' }), closes);
    expect(closed).toMatchObject({ kind: 'closed', disabled: true, tone: 'danger', text: 'the 7-day reply window has closed; the person must message the Page first' });
    expect(windowBar(makeWindow({ state: 'closed', refusal: null }), closes)?.text).toBe(CLOSED_TEXT);
  });

  it('web chats have no bar', () => {
    expect(windowBar(makeWindow({ channel: 'web' }), closes)).toBeNull();
    expect(windowBar(null, closes)).toBeNull();
  });

  it('knows when the state next changes', () => {
    const open = makeWindow({ state: 'open', window_closes_at: '2026-11-25T10:00:00Z' });
    expect(nextBoundaryMs(open, closes - 5 * MIN)).toBe(5 * MIN);
    expect(nextBoundaryMs(open, closes + MIN)).toBe(0);
    const ha = makeWindow({ state: 'human_agent', human_agent_until: '2026-11-25T11:00:00Z' });
    expect(nextBoundaryMs(ha, closes)).toBe(HOUR);
    expect(nextBoundaryMs(makeWindow({ state: 'closed' }), closes)).toBeNull();
    expect(nextBoundaryMs(makeWindow({ state: 'tag_only', allowed_tags: ['X'] }), closes)).toBeNull();
  });

  it('sends a tag only past 7 days, and only an allowed one', () => {
    const open = windowBar(makeWindow(), closes - HOUR);
    expect(tagForSend(open, 'ANY')).toEqual({ ok: true, tag: undefined });
    expect(tagForSend(null, '')).toEqual({ ok: true, tag: undefined });
    const tagged = windowBar(makeWindow({ state: 'tag_only', allowed_tags: ['ACCOUNT_NOTICE'] }), closes);
    expect(tagForSend(tagged, '')).toMatchObject({ ok: false });
    expect(tagForSend(tagged, 'OTHER')).toMatchObject({ ok: false });
    expect(tagForSend(tagged, 'ACCOUNT_NOTICE')).toEqual({ ok: true, tag: 'ACCOUNT_NOTICE' });
    expect(tagForSend(windowBar(makeWindow({ state: 'closed' }), closes), 'X')).toMatchObject({ ok: false, error: CLOSED_TEXT });
  });
});
