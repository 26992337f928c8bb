import { describe, expect, it } from 'vitest';
import type { ContactChange } from '../api/contacts';
import type { Member } from '../api/types';
import { describeChange } from './history';

const members: Member[] = [{ user_id: 2, email: 'amy@example.com', display_name: 'Amy', role_id: 3, role_name: 'agent', joined_at: '' }];

function change(field: string, old: unknown, now: unknown, user_id: number | null = 2): ContactChange {
  return { id: 1, contact_id: 9, user_id, field, old, new: now, at: '2026-11-24T10:00:00Z' };
}

describe('contact history', () => {
  it('says who set, changed and cleared which field', () => {
    expect(describeChange(change('phone', null, '+4930123'), members, 1)).toBe('Amy set the phone to +4930123');
    expect(describeChange(change('note_name', 'Ada', 'VIP Ada'), members, 1)).toBe('Amy changed the note name from Ada to VIP Ada');
    expect(describeChange(change('email', 'a@b.example', null), members, 2)).toBe('You cleared the e-mail (was a@b.example)');
  });

  it('joins labels and treats an empty list as nothing', () => {
    expect(describeChange(change('labels', [], ['vip', 'b2b']), members, 1)).toBe('Amy set the labels to vip, b2b');
    expect(describeChange(change('labels', ['vip'], []), members, 1)).toBe('Amy cleared the labels (was vip)');
  });

  it('names members who left', () => {
    expect(describeChange(change('phone', null, '+4930123', null), members, 1)).toBe('A former member set the phone to +4930123');
    expect(describeChange(change('phone', null, '+4930123', 7), members, 1)).toBe('User #7 set the phone to +4930123');
  });
});
