// Sorting the flow list by any of its columns. A rate sorts by its value; flows without
// triggered visitors (no rate) come last whichever way; ties go by name, then id, so the
// order never jumps between refreshes.
import type { FlowStats } from '../api/analytics';

export type SortKey = 'name' | 'trigger_times' | 'triggered_visitors' | 'participation' | 'completion_rate';
export type SortDir = 'asc' | 'desc';
export interface Sort {
  key: SortKey;
  dir: SortDir;
}

export const DEFAULT_SORT: Sort = { key: 'trigger_times', dir: 'desc' };

/** A click on a column's header: the same column flips, another starts (names A→Z, figures high→low). */
export function nextSort(current: Sort, key: SortKey): Sort {
  if (current.key === key) return { key, dir: current.dir === 'asc' ? 'desc' : 'asc' };
  return { key, dir: key === 'name' ? 'asc' : 'desc' };
}

function byName(a: FlowStats, b: FlowStats): number {
  return a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }) || a.flow_id - b.flow_id;
}

export function sortFlows(flows: readonly FlowStats[], sort: Sort): FlowStats[] {
  const sign = sort.dir === 'asc' ? 1 : -1;
  return [...flows].sort((a, b) => {
    if (sort.key === 'name') return sign * byName(a, b);
    const x = a[sort.key];
    const y = b[sort.key];
    if (x === null && y === null) return byName(a, b);
    if (x === null) return 1;
    if (y === null) return -1;
    return sign * (x - y) || byName(a, b);
  });
}

/** aria-sort of a header. */
export function ariaSort(sort: Sort, key: SortKey): 'ascending' | 'descending' | 'none' {
  if (sort.key !== key) return 'none';
  return sort.dir === 'asc' ? 'ascending' : 'descending';
}
