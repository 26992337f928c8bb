// Trailing debounce with a ceiling: bursts of events cause one call after `delayMs` of quiet,
// but never later than `maxWaitMs` after the first event of the burst (a busy project still
// sees its summary move).
export class Debouncer {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private firstAt: number | null = null;

  constructor(
    private readonly run: () => void,
    private readonly delayMs: number,
    private readonly maxWaitMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  schedule(): void {
    const now = this.now();
    if (this.firstAt === null) this.firstAt = now;
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.delayMs, this.firstAt + this.maxWaitMs - now));
    this.timer = setTimeout(() => this.fire(), wait);
  }

  get pending(): boolean {
    return this.timer !== null;
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.firstAt = null;
  }

  private fire(): void {
    this.timer = null;
    this.firstAt = null;
    this.run();
  }
}
