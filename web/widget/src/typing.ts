// The visitor's typing indicator, as the agent sees it: `on` at most every 2 s while keys are
// pressed (so the agent's indicator never goes stale), `off` after 3 s without a key or when
// the message is sent. The clock is injected for tests.

export const REPEAT_MS = 2000;
export const IDLE_MS = 3000;

export class TypingSender {
  private on = false;
  private last = 0;
  private idle: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private send: (on: boolean) => boolean,
    private now: () => number = Date.now,
  ) {}

  /** A key changed the input; `empty` when it is now blank. */
  input(empty: boolean): void {
    clearTimeout(this.idle);
    if (empty) return this.stop();
    const t = this.now();
    // Only a frame that actually left counts: offline, the next key tries again.
    if ((!this.on || t - this.last >= REPEAT_MS) && this.send(true)) {
      this.on = true;
      this.last = t;
    }
    this.idle = setTimeout(() => this.stop(), IDLE_MS);
  }

  stop(): void {
    clearTimeout(this.idle);
    if (this.on) {
      this.on = false;
      this.send(false);
    }
  }
}
