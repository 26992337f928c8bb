import { describe, expect, it } from 'vitest';
import type { Delivery } from '../api/types';
import { attachmentsOf, bodyText, botButtons, buttonClick, deliveryBadge, postbackText } from './messageContent';

function delivery(over: Partial<Delivery>): Delivery {
  return {
    state: 'pending',
    messaging_type: 'RESPONSE',
    tag: null,
    error_code: null,
    error_subcode: null,
    error: null,
    attempts: 0,
    sent_at: null,
    delivered_at: null,
    read_at: null,
    ...over,
  };
}

describe('message content', () => {
  it('keeps only well-formed http(s) attachments', () => {
    const content = {
      attachments: [
        { type: 'image', url: 'https://cdn.example.com/a.jpg' },
        { type: 'file', url: 'javascript:alert(1)' },
        { type: 'video' },
        'junk',
        { url: 'http://example.com/x.pdf' },
      ],
    };
    expect(attachmentsOf(content)).toEqual([
      { type: 'image', url: 'https://cdn.example.com/a.jpg' },
      { type: 'file', url: 'http://example.com/x.pdf' },
    ]);
    expect(attachmentsOf({})).toEqual([]);
    expect(attachmentsOf({ attachments: 'nope' })).toEqual([]);
  });

  it('reads a postback as what was tapped, without repeating its title as text', () => {
    expect(postbackText({ postback: { title: 'Get Started', payload: 'GET_STARTED' } })).toBe('Tapped: Get Started');
    expect(postbackText({ postback: { payload: 'MENU_1' } })).toBe('Tapped: MENU_1');
    expect(postbackText({})).toBeNull();
    expect(bodyText('Get Started', { postback: { title: 'Get Started' } })).toBe('');
    expect(bodyText('hello', { postback: { title: 'Get Started' } })).toBe('hello');
    expect(bodyText('hello', {})).toBe('hello');
  });

  it('shows the delivery of a platform send', () => {
    expect(deliveryBadge(null)).toBeNull();
    expect(deliveryBadge(delivery({ state: 'pending' }))).toMatchObject({ kind: 'clock', retry: false });
    expect(deliveryBadge(delivery({ state: 'sending' }))).toMatchObject({ kind: 'clock' });
    expect(deliveryBadge(delivery({ state: 'sent' }))).toMatchObject({ kind: 'sent', mark: '✓', label: 'Sent' });
    expect(deliveryBadge(delivery({ state: 'sent', delivered_at: '2026-11-24T10:00:01Z' }))).toMatchObject({ kind: 'delivered', mark: '✓✓' });
    expect(deliveryBadge(delivery({ state: 'sent', delivered_at: '2026-11-24T10:00:01Z', read_at: '2026-11-24T10:00:02Z' }))).toMatchObject({ kind: 'read', mark: '✓✓', label: 'Read' });
    expect(deliveryBadge(delivery({ state: 'failed', error: 'the person cannot be reached (551)' }))).toMatchObject({
      kind: 'failed',
      label: 'Not sent: the person cannot be reached (551)',
      retry: true,
    });
    expect(deliveryBadge(delivery({ state: 'unconfirmed' }))).toMatchObject({ kind: 'unconfirmed', label: 'May not have been sent', retry: true });
  });
});

describe('automation content', () => {
  it('reads a bot message\'s buttons and a visitor\'s click defensively', () => {
    expect(botButtons({ buttons: [{ id: 'a', title: 'A' }, { id: 1 }, 'x'] })).toEqual([{ id: 'a', title: 'A' }]);
    expect(botButtons({})).toEqual([]);
    expect(buttonClick({ button: { message_id: 5, id: 'a' } })).toEqual({ message_id: 5, id: 'a' });
    expect(buttonClick({ button: { id: 'a' } })).toBeNull();
    expect(buttonClick(undefined)).toBeNull();
  });
});
