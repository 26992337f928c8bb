/** Up to two initials for an avatar ("Ada Lovelace" → "AL", "visitor-12" → "V"). */
export function initials(name: string): string {
  const words = name.trim().split(/[\s._-]+/).filter((w) => /\p{L}/u.test(w));
  if (words.length === 0) return '?';
  const letters = words.slice(0, 2).map((w) => [...w].find((c) => /\p{L}/u.test(c)) ?? '');
  return letters.join('').toUpperCase() || '?';
}

/** A stable colour class (0–7) per contact so avatars are told apart at a glance. */
export function avatarTone(id: number): number {
  return ((id % 8) + 8) % 8;
}
