// Robot hosting in the chat header: a switch showing the session's bot_hosted (PUT …/hosting),
// off-limits for ended sessions, with the server's refusal spelled out. And the "Hosted" badge
// the header and the chat list show.
import { useId, useState } from 'react';
import { ApiError } from '../api/http';
import type { Session } from '../api/types';
import { useInboxContext } from './inboxContext';

export function HostedBadge({ testId = 'hosted-badge' }: { testId?: string }) {
  return (
    <span className="hosted-badge" data-testid={testId} title="Robot hosting is on: the bot answers this visitor">
      Hosted
    </span>
  );
}

export function hostingErrorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'session_ended') return 'This conversation has ended; its hosting cannot change.';
    if (e.code === 'forbidden') return 'You may not switch hosting for this conversation.';
    return e.message || 'Could not switch robot hosting.';
  }
  return 'Could not switch robot hosting.';
}

export function HostingSwitch({ session: s }: { session: Session }) {
  const { controller } = useInboxContext();
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ended = s.status === 'ended';

  async function change(hosted: boolean) {
    setBusy(true);
    setError(null);
    try {
      await controller.setHosting(s.id, hosted);
    } catch (e) {
      setError(hostingErrorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="hosting-switch">
      <label htmlFor={id} className="hosting-switch-label" title={ended ? 'Ended conversations keep their last hosting state' : 'When on, the bot answers the visitor'}>
        Robot hosting
      </label>
      <span className="switch">
        <input
          id={id}
          type="checkbox"
          role="switch"
          data-testid="hosting-switch"
          checked={s.bot_hosted}
          disabled={busy || ended}
          aria-describedby={error ? `${id}-error` : undefined}
          onChange={(e) => void change(e.target.checked)}
        />
        <span className="switch-track" aria-hidden="true">
          <span className="switch-thumb" />
        </span>
      </span>
      {error && (
        <span className="hosting-switch-error" id={`${id}-error`} role="alert" data-testid="hosting-error">
          {error}{' '}
          <button type="button" className="link" onClick={() => setError(null)}>
            Dismiss
          </button>
        </span>
      )}
    </div>
  );
}
