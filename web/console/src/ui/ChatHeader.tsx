// Who the chat is with, its status, and the assignment actions (Take, Assign to…, End).
import { useState } from 'react';
import type { Session } from '../api/types';
import { displayName } from '../inbox/selectors';
import { avatarTone, initials } from '../lib/initials';
import { HostedBadge, HostingSwitch } from './HostingSwitch';
import { memberName, useInboxContext } from './inboxContext';

export function ChatHeader({ session: s, onClose }: { session: Session; onClose: () => void }) {
  const { controller, members, userId } = useInboxContext();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const name = displayName(s);
  const original = s.note_name?.trim() ? s.contact_name : null;
  const ended = s.status === 'ended';
  const mine = s.status === 'assigned' && s.assignee_id === userId;

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e instanceof Error ? e.message : 'That did not work.');
    } finally {
      setBusy(false);
    }
  }

  // The current assignee may have left the team; keep them selectable so the select is honest.
  const options = members.map((m) => ({ id: m.user_id, label: m.user_id === userId ? `${m.display_name || m.email} (you)` : m.display_name || m.email }));
  if (!options.some((o) => o.id === userId)) options.unshift({ id: userId, label: 'Me' });
  if (s.assignee_id !== null && !options.some((o) => o.id === s.assignee_id)) options.push({ id: s.assignee_id, label: `User #${s.assignee_id}` });

  return (
    <header className="chat-header">
      <button type="button" className="btn btn-ghost btn-sm chat-back" onClick={onClose} aria-label="Back to the list">
        ←
      </button>
      <span className={`avatar avatar-lg avatar-tone-${avatarTone(s.contact_id)}`} aria-hidden="true">
        {initials(name)}
      </span>
      <div className="chat-title">
        <h2>
          {name}
          {original && <span className="name-secondary"> {original}</span>}
        </h2>
        <div className="chat-subtitle">
          <span className={`status-pill status-${s.status}`} data-testid="session-status">
            {s.status}
          </span>
          {s.status === 'assigned' && <span>to {memberName(members, s.assignee_id, userId)}</span>}
          {s.bot_hosted && <HostedBadge />}
          <span className="muted">· #{s.id}</span>
        </div>
      </div>
      <div className="chat-actions">
        <HostingSwitch session={s} />
        <button type="button" className="btn btn-primary" data-testid="take" disabled={busy || ended || mine} onClick={() => run(() => controller.take(s.id))} title="Assign this conversation to yourself">
          Take
        </button>
        <label className="assign">
          <span className="visually-hidden">Assign to</span>
          <select
            data-testid="assign-select"
            value={s.assignee_id ?? ''}
            disabled={busy || ended}
            onChange={(e) => {
              const v = e.target.value;
              void run(() => controller.assign(s.id, v === '' ? null : Number(v)));
            }}
          >
            <option value="">Unassigned</option>
            {options.map((o) => (
              <option key={o.id} value={o.id}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="btn btn-danger-outline" data-testid="end" disabled={busy || ended} onClick={() => run(() => controller.end(s.id))}>
          End
        </button>
      </div>
      {error && (
        <div className="chat-header-error" role="alert">
          {error}
          <button type="button" className="link" onClick={() => setError(null)}>
            Dismiss
          </button>
        </div>
      )}
    </header>
  );
}
