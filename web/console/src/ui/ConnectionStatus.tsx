// Socket state, twice: a small status pill that is always in the top bar (tests read it),
// and a banner across the workspace while the connection is down.
import type { ConnectionStatus } from '../realtime/agentSocket';

const LABEL: Record<ConnectionStatus, string> = {
  open: 'Connected',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  closed: 'Offline',
};

export function ConnectionPill({ status }: { status: ConnectionStatus }) {
  return (
    <span className={`conn-pill conn-${status}`} data-testid="connection-status" role="status" aria-live="polite">
      <span className="conn-dot" aria-hidden="true" />
      <span className="conn-label">{LABEL[status]}</span>
    </span>
  );
}

export function ConnectionBanner({ status }: { status: ConnectionStatus }) {
  if (status !== 'reconnecting') return null;
  return (
    <div className="banner banner-warn" role="alert">
      <span className="spinner" aria-hidden="true" />
      <strong>Reconnecting…</strong>
      <span>Live updates are paused. Messages you send now are delivered as soon as the connection is back.</span>
    </div>
  );
}
