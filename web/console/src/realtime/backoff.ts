// Reconnect delays: 0.5 s doubling up to 5 s, with a little jitter so that a server restart
// is not met by every console reconnecting in the same millisecond.
export const BACKOFF_MIN_MS = 500;
export const BACKOFF_MAX_MS = 5000;

/** Delay before reconnect attempt number `attempt` (0 = first retry after a drop). */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = BACKOFF_MIN_MS * 2 ** Math.min(attempt, 10);
  const jittered = base * (0.85 + 0.3 * random());
  return Math.round(Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, jittered)));
}
