import { describe, expect, it } from 'vitest';
import type { FlowStats } from '../api/analytics';
import { ariaSort, nextSort, sortFlows } from './sort';

function flow(flow_id: number, name: string, trigger_times: number, visitors: number, participants: number, completed: number): FlowStats {
  return {
    flow_id,
    name,
    enabled: true,
    trigger_kind: 'first_message',
    published_version: 1,
    trigger_times,
    triggered_visitors: visitors,
    participants,
    completed_visitors: completed,
    participation: visitors ? participants / visitors : null,
    completion_rate: visitors ? completed / visitors : null,
  };
}

const FLOWS = [flow(1, 'Welcome', 10, 5, 2, 1), flow(2, 'after hours', 4, 4, 4, 0), flow(3, 'Empty', 0, 0, 0, 0), flow(4, 'Beta', 10, 2, 1, 1)];
const ids = (fs: FlowStats[]) => fs.map((f) => f.flow_id);

describe('sorting the flow list', () => {
  it('sorts by any column; ties go by name', () => {
    expect(ids(sortFlows(FLOWS, { key: 'trigger_times', dir: 'desc' }))).toEqual([4, 1, 2, 3]);
    expect(ids(sortFlows(FLOWS, { key: 'trigger_times', dir: 'asc' }))).toEqual([3, 2, 4, 1]);
    expect(ids(sortFlows(FLOWS, { key: 'triggered_visitors', dir: 'desc' }))).toEqual([1, 2, 4, 3]);
    expect(ids(sortFlows(FLOWS, { key: 'name', dir: 'asc' }))).toEqual([2, 4, 3, 1]);
    expect(ids(sortFlows(FLOWS, { key: 'name', dir: 'desc' }))).toEqual([1, 3, 4, 2]);
  });

  it('sorts rates by value, flows without a rate last either way', () => {
    expect(ids(sortFlows(FLOWS, { key: 'participation', dir: 'desc' }))).toEqual([2, 4, 1, 3]);
    expect(ids(sortFlows(FLOWS, { key: 'participation', dir: 'asc' }))).toEqual([1, 4, 2, 3]);
    expect(ids(sortFlows(FLOWS, { key: 'completion_rate', dir: 'desc' }))).toEqual([4, 1, 2, 3]);
  });

  it('flips the same column, starts another high to low (names A to Z)', () => {
    expect(nextSort({ key: 'trigger_times', dir: 'desc' }, 'trigger_times')).toEqual({ key: 'trigger_times', dir: 'asc' });
    expect(nextSort({ key: 'trigger_times', dir: 'asc' }, 'participation')).toEqual({ key: 'participation', dir: 'desc' });
    expect(nextSort({ key: 'trigger_times', dir: 'desc' }, 'name')).toEqual({ key: 'name', dir: 'asc' });
    expect(ariaSort({ key: 'name', dir: 'asc' }, 'name')).toBe('ascending');
    expect(ariaSort({ key: 'name', dir: 'asc' }, 'trigger_times')).toBe('none');
  });

  it('leaves the list it was given alone', () => {
    const copy = [...FLOWS];
    sortFlows(FLOWS, { key: 'name', dir: 'asc' });
    expect(FLOWS).toEqual(copy);
  });
});
