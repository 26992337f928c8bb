// What every screen controller is underneath: its state, the listeners React subscribes with
// (`useSyncExternalStore`), and patches that are dropped once the controller has stopped (an
// answer arriving after the screen closed changes nothing).
export class PatchStore<S extends object> {
  private readonly listeners = new Set<() => void>();
  protected stopped = false;

  constructor(protected state: S) {}

  readonly subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  readonly getState = (): S => this.state;

  protected set(patch: Partial<S>): void {
    if (this.stopped) return;
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }
}
