// Outgoing typing indicator for one chat: `on` when typing starts (repeated every
// `refreshMs` while it goes on, so a visitor that joined late still sees it), `off` after
// `idleMs` without a keystroke or at once when the message is sent.
export interface TypingThrottleOptions {
  idleMs?: number;
  refreshMs?: number;
  now?: () => number;
}

export class TypingThrottle {
  private on = false;
  private lastOnAt = 0;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly idleMs: number;
  private readonly refreshMs: number;
  private readonly now: () => number;

  constructor(
    private readonly emit: (on: boolean) => void,
    opts: TypingThrottleOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? 3000;
    this.refreshMs = opts.refreshMs ?? 2500;
    this.now = opts.now ?? Date.now;
  }

  get active(): boolean {
    return this.on;
  }

  /** A keystroke in the composer. */
  input(): void {
    const t = this.now();
    if (!this.on || t - this.lastOnAt >= this.refreshMs) {
      this.on = true;
      this.lastOnAt = t;
      this.emit(true);
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop(), this.idleMs);
  }

  /** Sent, cleared, or the chat was left. */
  stop(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.on) {
      this.on = false;
      this.emit(false);
    }
  }
}
