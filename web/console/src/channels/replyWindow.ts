// How the composer reads a Messenger session's reply window (GET …/reply-window), as pure
// functions of (window, now): the line above the reply box, whether a tag must be picked, and
// whether replying is possible at all. The server decides the state and enforces the same
// rules; the console only counts down to the boundary it was told and asks again there.
import type { ReplyWindow } from '../api/channels';
import { fullTime } from '../lib/time';

export const CLOSED_TEXT = 'The 7-day reply window has closed; the person must message the Page first.';

export type WindowBar =
  /** Within 24 h of the person's last message: any reply goes out as RESPONSE. */
  | { kind: 'open'; text: string; tone: 'ok' | 'warn'; disabled: false; tags: readonly string[] }
  /** 24 h – 7 days with the Human Agent permission: human replies only. */
  | { kind: 'human_agent'; text: string; tone: 'warn'; disabled: false; tags: readonly string[] }
  /** Past the window, with tags configured: the agent must pick one. */
  | { kind: 'tag_only'; text: string; tone: 'warn'; disabled: false; tags: readonly string[] }
  /** Nothing may be sent until the person writes again. */
  | { kind: 'closed'; text: string; tone: 'danger'; disabled: true; tags: readonly string[] };

/** Under this much time left the countdown turns to a warning. */
export const WARN_MS = 60 * 60_000;

/** "3 h 12 min", "45 min", "less than a minute", "0 min" — whole minutes, rounded down. */
export function formatRemaining(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0 min';
  if (ms < 60_000) return 'less than a minute';
  const totalMin = Math.floor(ms / 60_000);
  const h = Math.floor(totalMin / 60);
  const m = totalMin % 60;
  if (h === 0) return `${m} min`;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

function msUntil(iso: string | null, now: number): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t - now;
}

/**
 * The bar for a window read from the server, at `now`. Null for channels without a window
 * (the web widget). A boundary that has passed locally reads as "closing" until the refetch
 * the controller schedules there brings the next state.
 */
export function windowBar(w: ReplyWindow | null | undefined, now: number): WindowBar | null {
  if (!w || w.channel !== 'messenger') return null;
  const tags = w.allowed_tags ?? [];
  switch (w.state) {
    case 'open': {
      const left = msUntil(w.window_closes_at, now);
      if (left === null) return { kind: 'open', text: 'Reply window open', tone: 'ok', disabled: false, tags };
      if (left <= 0) return { kind: 'open', text: 'Reply window: closing now…', tone: 'warn', disabled: false, tags };
      return { kind: 'open', text: `Reply window: ${formatRemaining(left)} left`, tone: left < WARN_MS ? 'warn' : 'ok', disabled: false, tags };
    }
    case 'human_agent': {
      const until = w.human_agent_until;
      const text = until ? `Human Agent period: replies allowed until ${fullTime(until)}` : 'Human Agent period: human replies only';
      return { kind: 'human_agent', text, tone: 'warn', disabled: false, tags };
    }
    case 'tag_only':
      // A tag-only window without tags cannot be used: the server would refuse every reply.
      if (tags.length === 0) return { kind: 'closed', text: w.refusal || CLOSED_TEXT, tone: 'danger', disabled: true, tags };
      return { kind: 'tag_only', text: 'Past 7 days: pick a message tag', tone: 'warn', disabled: false, tags };
    case 'closed':
      return { kind: 'closed', text: w.refusal || CLOSED_TEXT, tone: 'danger', disabled: true, tags };
  }
}

/** When the window read from the server next changes state (ms from now), or null. */
export function nextBoundaryMs(w: ReplyWindow | null | undefined, now: number): number | null {
  if (!w || w.channel !== 'messenger') return null;
  const at = w.state === 'open' ? w.window_closes_at : w.state === 'human_agent' ? w.human_agent_until : null;
  const left = msUntil(at, now);
  return left === null ? null : Math.max(0, left);
}

/** The tag a send needs: only in a tag-only window, and only one of the allowed ones. */
export function tagForSend(bar: WindowBar | null, picked: string): { ok: true; tag: string | undefined } | { ok: false; error: string } {
  if (!bar || bar.kind === 'open' || bar.kind === 'human_agent') return { ok: true, tag: undefined };
  if (bar.kind === 'closed') return { ok: false, error: bar.text };
  if (!bar.tags.includes(picked)) return { ok: false, error: 'Pick a message tag first.' };
  return { ok: true, tag: picked };
}
