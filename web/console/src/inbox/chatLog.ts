// One chat's loaded messages: a seq-ordered array without duplicates. Messages come from
// REST pages (latest, older, after) and socket frames in any interleaving; merging by seq
// makes the order of arrival irrelevant.
import type { Message } from '../api/types';

export interface ChatLog {
  /** Sorted by seq, unique by seq. */
  messages: readonly Message[];
  /** The first page (latest messages) has been merged. */
  loaded: boolean;
  loading: boolean;
  loadingOlder: boolean;
  error: string | null;
}

export const emptyLog: ChatLog = { messages: [], loaded: false, loading: false, loadingOlder: false, error: null };

/** Inserts messages that are not there yet; returns the same array when nothing is new. */
export function mergeMessages(existing: readonly Message[], incoming: readonly Message[]): readonly Message[] {
  if (incoming.length === 0) return existing;
  const last = existing.length ? existing[existing.length - 1].seq : 0;
  // Fast path: live frames arrive in order after everything we hold.
  if (incoming.length === 1 && incoming[0].seq > last) return [...existing, incoming[0]];
  const bySeq = new Map<number, Message>();
  for (const m of existing) bySeq.set(m.seq, m);
  let added = false;
  for (const m of incoming) {
    if (!bySeq.has(m.seq)) {
      bySeq.set(m.seq, m);
      added = true;
    }
  }
  if (!added) return existing;
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

export function hasSeq(messages: readonly Message[], seq: number): boolean {
  // Binary search: logs can hold thousands of messages after scrolling back.
  let lo = 0;
  let hi = messages.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = messages[mid].seq;
    if (s === seq) return true;
    if (s < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * The highest seq reached from the oldest loaded message without a gap: the safe point to
 * resume from (0 when nothing is loaded, meaning "everything").
 */
export function contiguousMax(messages: readonly Message[]): number {
  if (messages.length === 0) return 0;
  let seq = messages[0].seq;
  for (let i = 1; i < messages.length; i++) {
    if (messages[i].seq !== seq + 1) break;
    seq = messages[i].seq;
  }
  return seq;
}

export function lastSeq(messages: readonly Message[]): number {
  return messages.length ? messages[messages.length - 1].seq : 0;
}

/** Seqs start at 1 without gaps, so anything above 1 at the top means older ones exist. */
export function hasOlder(log: ChatLog): boolean {
  return log.loaded && log.messages.length > 0 && log.messages[0].seq > 1;
}
