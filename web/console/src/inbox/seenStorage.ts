// Per user and project, how many visitor messages of each session the agent has seen, kept in
// localStorage so unread badges survive a reload. Bounded: only the newest sessions are kept.
export const SEEN_LIMIT = 2000;

export type SeenMap = Record<number, number>;

function key(userId: number, projectId: number): string {
  return `sb.console.seen.u${userId}.p${projectId}`;
}

export function loadSeen(storage: Storage | null, userId: number, projectId: number): SeenMap {
  if (!storage) return {};
  try {
    const raw = storage.getItem(key(userId, projectId));
    if (!raw) return {};
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null) return {};
    const out: SeenMap = {};
    for (const [k, v] of Object.entries(parsed)) {
      const id = Number(k);
      if (Number.isInteger(id) && typeof v === 'number' && v >= 0) out[id] = v;
    }
    return out;
  } catch {
    return {};
  }
}

export function saveSeen(storage: Storage | null, userId: number, projectId: number, seen: SeenMap): void {
  if (!storage) return;
  let entries = Object.entries(seen);
  if (entries.length > SEEN_LIMIT) {
    // Session ids grow over time: the highest ids are the ones still worth remembering.
    entries = entries.sort((a, b) => Number(b[0]) - Number(a[0])).slice(0, SEEN_LIMIT);
  }
  try {
    storage.setItem(key(userId, projectId), JSON.stringify(Object.fromEntries(entries)));
  } catch {
    // Storage full or disabled (private mode): badges just won't survive a reload.
  }
}
