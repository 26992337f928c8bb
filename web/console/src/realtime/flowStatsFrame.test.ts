import { describe, expect, it } from 'vitest';
import { parseServerFrame } from './protocol';

describe('the flow_stats frame', () => {
  it('is read with its flow id, and refused without one', () => {
    expect(parseServerFrame('{"v":1,"type":"flow_stats","flow_id":12}')).toEqual({ v: 1, type: 'flow_stats', flow_id: 12 });
    expect(parseServerFrame('{"type":"flow_stats"}')).toBeNull();
    expect(parseServerFrame('{"type":"flow_stats","flow_id":"12"}')).toBeNull();
  });
});
