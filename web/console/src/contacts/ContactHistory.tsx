// "Edit history" under the customer info: who changed which field and when. Loaded when
// opened, and again when the contact changes while it is open (a `contact` frame moves
// `updatedAt`), so it stays true without a reload.
import { useEffect, useState } from 'react';
import type { ContactChange, ContactChangePage } from '../api/contacts';
import type { Member } from '../api/types';
import { fullTime } from '../lib/time';
import { describeChange } from './history';

interface Props {
  contactId: number;
  updatedAt: string;
  load: (contactId: number) => Promise<ContactChangePage>;
  members: readonly Member[];
  userId: number;
}

export function ContactHistory({ contactId, updatedAt, load, members, userId }: Props) {
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<ContactChange[] | null>(null);
  const [failed, setFailed] = useState(false);
  const [more, setMore] = useState(false);

  useEffect(() => {
    if (!open) return;
    let live = true;
    load(contactId).then(
      (page) => {
        if (!live) return;
        setItems(page.items);
        setMore(page.next_before !== null);
        setFailed(false);
      },
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [open, contactId, updatedAt, load]);

  return (
    <details className="info-history" data-testid="info-history" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Edit history</summary>
      {failed && (
        <p className="inline-error" role="alert">
          Could not load the history.
        </p>
      )}
      {items === null ? (
        !failed && <p className="muted" aria-busy="true">Loading…</p>
      ) : items.length === 0 ? (
        <p className="muted">No edits yet.</p>
      ) : (
        <ol className="info-history-list">
          {items.map((c) => (
            <li key={c.id} data-testid="info-history-item">
              <span>{describeChange(c, members, userId)}</span>
              <time className="muted" dateTime={c.at}>
                {fullTime(c.at)}
              </time>
            </li>
          ))}
          {more && <li className="muted">Older edits are not shown.</li>}
        </ol>
      )}
    </details>
  );
}
