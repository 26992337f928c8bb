// The edit history under the customer info: loads when opened, reloads when the contact
// changes while open, says so when loading fails.
import { act } from 'react';
import { describe, expect, it } from 'vitest';
import type { ContactChange, ContactChangePage } from '../api/contacts';
import { ContactHistory } from './ContactHistory';
import { reactTestRoot } from '../testing/reactRoot';

const dom = reactTestRoot();

const change = (id: number, now: string): ContactChange => ({
  id, contact_id: 5, user_id: 1, field: 'note_name', old: null, new: now, at: '2026-11-24T10:00:00Z',
});

async function flush() {
  await act(async () => {
    await Promise.resolve();
  });
}

describe('ContactHistory', () => {
  it('loads on open and again when the contact changes', async () => {
    const calls: number[] = [];
    let answer: ContactChangePage = { items: [change(1, 'Ada')], next_before: null };
    const load = async (id: number) => {
      calls.push(id);
      return answer;
    };
    const view = (updatedAt: string) => <ContactHistory contactId={5} updatedAt={updatedAt} load={load} members={[]} userId={1} />;
    act(() => dom.root.render(view('t1')));
    expect(calls).toEqual([]);

    const details = dom.host.querySelector('details') as HTMLDetailsElement;
    await act(async () => {
      details.open = true;
      details.dispatchEvent(new Event('toggle'));
    });
    await flush();
    expect(calls).toEqual([5]);
    expect(dom.host.querySelectorAll('[data-testid="info-history-item"]')).toHaveLength(1);
    expect(dom.host.textContent).toContain('You set the note name to Ada');

    answer = { items: [change(2, 'VIP Ada'), change(1, 'Ada')], next_before: null };
    act(() => dom.root.render(view('t2')));
    await flush();
    expect(calls).toEqual([5, 5]);
    expect(dom.host.querySelectorAll('[data-testid="info-history-item"]')).toHaveLength(2);
  });

  it('says when the history cannot be loaded', async () => {
    const load = () => Promise.reject(new Error('down'));
    act(() => dom.root.render(<ContactHistory contactId={5} updatedAt="t" load={load} members={[]} userId={1} />));
    const details = dom.host.querySelector('details') as HTMLDetailsElement;
    await act(async () => {
      details.open = true;
      details.dispatchEvent(new Event('toggle'));
    });
    await flush();
    expect(dom.host.querySelector('[role="alert"]')?.textContent).toBe('Could not load the history.');
  });
});
