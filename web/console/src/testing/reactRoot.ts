// The React side of the render tests: a root in a fresh <div> per test, unmounted after it,
// under fake timers (optionally at a fixed time) and with the fake websockets reset.
import { act } from 'react';
import { createRoot } from 'react-dom/client';
import type { Root } from 'react-dom/client';
import { afterEach, beforeEach, vi } from 'vitest';
import { FakeWebSocket } from './fakes';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export interface TestRoot {
  readonly root: Root;
  readonly host: HTMLDivElement;
}

/** Call at the top of a test file; `dom.root` and `dom.host` are fresh in every test. */
export function reactTestRoot(opts: { now?: string } = {}): TestRoot {
  const dom = {} as { root: Root; host: HTMLDivElement };
  beforeEach(() => {
    FakeWebSocket.reset();
    vi.useFakeTimers();
    if (opts.now) vi.setSystemTime(new Date(opts.now));
    dom.host = document.createElement('div');
    document.body.appendChild(dom.host);
    dom.root = createRoot(dom.host);
  });
  afterEach(() => {
    act(() => dom.root.unmount());
    dom.host.remove();
    vi.useRealTimers();
  });
  return dom;
}
