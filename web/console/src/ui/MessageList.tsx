// The messages of one chat, oldest first. Scrolling to the top loads older pages; new
// messages keep the view pinned to the bottom only if it already was there.
import { Fragment, useLayoutEffect, useRef, useState } from 'react';
import { ApiError } from '../api/http';
import type { Message, Session } from '../api/types';
import { attachmentLabel, attachmentsOf, bodyText, botButtons, buttonClick, deliveryBadge, postbackText } from '../channels/messageContent';
import type { ChatLog } from '../inbox/chatLog';
import { hasOlder } from '../inbox/chatLog';
import type { PendingMessage } from '../inbox/reducer';
import { clockTime, dayKey, dayLabel, fullTime } from '../lib/time';
import { memberName, useInboxContext } from './inboxContext';

interface Props {
  session: Session;
  log: ChatLog;
  pending: readonly PendingMessage[];
  typing: boolean;
}

/** Within this many pixels of the bottom counts as "at the bottom". */
const STICK_PX = 80;
/** Start loading older messages this close to the top. */
const LOAD_OLDER_PX = 120;
/** Messages of one sender this close together form one group (one timestamp). */
const GROUP_MS = 2 * 60_000;

/** Whether `next` continues `m`'s group, so `m` needs no meta line of its own. */
function continues(m: Message, next: Message | undefined): boolean {
  if (!next || m.sender === 'system' || next.sender !== m.sender || next.sender_user_id !== m.sender_user_id) return false;
  if (dayKey(m.created_at) !== dayKey(next.created_at)) return false;
  return Date.parse(next.created_at) - Date.parse(m.created_at) < GROUP_MS;
}

export function MessageList({ session, log, pending, typing }: Props) {
  const { controller, members, userId } = useInboxContext();
  const ref = useRef<HTMLDivElement>(null);
  // Distance from the bottom as the user last left it; restoring it after an update keeps
  // the view still when older pages are prepended, and pinned when it was at the bottom.
  const fromBottom = useRef(0);
  const older = hasOlder(log);
  const pendingCount = useRef(pending.length);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    // Sending a message always brings the view down to it.
    const sent = pending.length > pendingCount.current;
    pendingCount.current = pending.length;
    const d = sent || fromBottom.current <= STICK_PX ? 0 : fromBottom.current;
    el.scrollTop = el.scrollHeight - el.clientHeight - d;
    fromBottom.current = d;
    // A short history that does not fill the view cannot be scrolled: fetch more at once.
    if (older && !log.loadingOlder && el.scrollHeight <= el.clientHeight) void controller.loadOlder(session.id);
  }, [log.messages, pending, typing, older, log.loadingOlder, controller, session.id]);

  function onScroll() {
    const el = ref.current;
    if (!el) return;
    fromBottom.current = el.scrollHeight - el.clientHeight - el.scrollTop;
    if (el.scrollTop < LOAD_OLDER_PX && older && !log.loadingOlder) void controller.loadOlder(session.id);
  }

  const now = Date.now();
  let lastDay = '';

  return (
    <div className="message-scroll" ref={ref} onScroll={onScroll}>
      <div className="message-list" data-testid="message-list" role="log" aria-live="polite" aria-busy={log.loading}>
        {older && (
          <div className="history-edge">
            <button type="button" className="btn btn-sm btn-ghost" disabled={log.loadingOlder} onClick={() => void controller.loadOlder(session.id)}>
              {log.loadingOlder ? 'Loading earlier messages…' : 'Load earlier messages'}
            </button>
          </div>
        )}
        {log.loaded && !older && log.messages.length > 0 && <div className="history-edge muted">Conversation started {fullTime(session.created_at)}</div>}
        {log.loading && log.messages.length === 0 && <div className="history-edge muted">Loading messages…</div>}
        {log.error && (
          <div className="history-edge list-error" role="alert">
            {log.error}
          </div>
        )}
        {log.loaded && log.messages.length === 0 && pending.length === 0 && <div className="history-edge muted">No messages yet.</div>}
        {log.messages.map((m, i) => {
          const day = dayKey(m.created_at);
          const sep = day !== lastDay;
          lastDay = day;
          return (
            <Fragment key={m.seq}>
              {sep && (
                <div className="day-sep" role="separator">
                  <span>{dayLabel(m.created_at, now)}</span>
                </div>
              )}
              <MessageRow m={m} author={authorOf(m, members, userId)} grouped={continues(m, log.messages[i + 1])} />
            </Fragment>
          );
        })}
        {pending.map((p) => (
          <div key={p.clientId} className={`message message-agent message-pending${p.state === 'failed' ? ' message-failed' : ''}`} data-testid="message" data-sender="agent" data-pending="true" data-client-id={p.clientId}>
            <div className="bubble">{p.text}</div>
            <div className="message-meta">
              {p.state === 'sending' ? (
                <span>Sending…</span>
              ) : (
                <span className="failed-note" role="alert">
                  {p.error}{' '}
                  <button type="button" className="link" onClick={() => controller.retry(p.clientId)}>
                    Retry
                  </button>{' '}
                  <button type="button" className="link" onClick={() => controller.discard(p.clientId)}>
                    Discard
                  </button>
                </span>
              )}
            </div>
          </div>
        ))}
      </div>
    </div>
  );
}

function authorOf(m: Message, members: Parameters<typeof memberName>[0], me: number): string {
  switch (m.sender) {
    case 'visitor':
      return 'Visitor';
    case 'bot':
      return 'Bot';
    case 'system':
      return '';
    case 'agent':
      // A reply sent natively from the Page has no member; its label says where it came from.
      if (m.sender_user_id === null) return m.off_platform ? '' : 'Agent';
      return memberName(members, m.sender_user_id, me);
  }
}

function MessageRow({ m, author, grouped }: { m: Message; author: string; grouped: boolean }) {
  const attachments = attachmentsOf(m.content);
  const postback = postbackText(m.content);
  const buttons = m.sender === 'bot' ? botButtons(m.content) : [];
  const clicked = m.sender === 'visitor' && buttonClick(m.content) !== null;
  if (m.sender === 'system') {
    return (
      <div className="message message-system" data-testid="message" data-seq={m.seq} data-sender="system">
        <span className="system-text">{m.text}</span>
        <time dateTime={m.created_at} title={fullTime(m.created_at)}>
          {clockTime(m.created_at)}
        </time>
      </div>
    );
  }
  return (
    // In a group only the last message has a meta line, except for the delivery of platform
    // sends: every message keeps its ticks (and a failure its Retry).
    <div
      className={`message message-${m.sender}${grouped ? ' message-grouped' : ''}${grouped && m.delivery ? ' message-grouped-delivery' : ''}`}
      data-testid="message"
      data-seq={m.seq}
      data-sender={m.sender}
    >
      <div className="bubble" title={grouped ? fullTime(m.created_at) : undefined}>
        {postback && (
          <span className="message-postback" data-testid="message-postback">
            {postback}
          </span>
        )}
        {bodyText(m.text, m.content)}
        {buttons.length > 0 && (
          <span className="message-buttons" data-testid="message-buttons" aria-label="Buttons offered">
            {buttons.map((b) => (
              <span key={b.id} className="message-button-chip" data-testid="message-button-chip" data-button-id={b.id}>
                {b.title}
              </span>
            ))}
          </span>
        )}
        {attachments.length > 0 && (
          <span className="message-attachments">
            {attachments.map((a, i) => (
              <a key={i} className="message-attachment" data-testid="message-attachment" data-type={a.type} href={a.url} target="_blank" rel="noopener noreferrer nofollow">
                {attachmentLabel(a.type)}
              </a>
            ))}
          </span>
        )}
      </div>
      <div className="message-meta">
        {clicked && (
          <span className="message-click" data-testid="message-button-click">
            clicked “{m.text}”
          </span>
        )}
        {m.sender === 'bot' ? (
          <span className="bot-label" data-testid="bot-label">
            Bot
          </span>
        ) : (
          m.sender !== 'visitor' && author && <span>{author}</span>
        )}
        {m.off_platform && (
          <span className="off-platform-label" data-testid="off-platform" title="Replied outside Switchboard (the Page inbox or the Messenger app)">
            Sent from the Page inbox
          </span>
        )}
        <time dateTime={m.created_at} title={fullTime(m.created_at)}>
          {clockTime(m.created_at)}
        </time>
        <DeliveryMark m={m} />
      </div>
    </div>
  );
}

/** Ticks for a platform send; a failure spelled out with a Retry. */
function DeliveryMark({ m }: { m: Message }) {
  const { controller } = useInboxContext();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const badge = deliveryBadge(m.delivery);
  if (!badge) return null;
  const retry = async () => {
    setBusy(true);
    setError(null);
    try {
      await controller.retryDelivery(m.session_id, m.message_id);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'Could not retry.');
    } finally {
      setBusy(false);
    }
  };
  if (badge.retry) {
    return (
      <span className={`delivery delivery-${badge.kind}`} data-testid="delivery" data-state={badge.kind} role="alert">
        <span className="delivery-text">{badge.label}</span>{' '}
        <button type="button" className="link" data-testid="delivery-retry" disabled={busy} onClick={() => void retry()}>
          {busy ? 'Retrying…' : 'Retry'}
        </button>
        {error && <span className="delivery-retry-error"> {error}</span>}
      </span>
    );
  }
  return (
    <span className={`delivery delivery-${badge.kind}`} data-testid="delivery" data-state={badge.kind} title={badge.label} aria-label={badge.label}>
      {badge.kind === 'clock' ? <span className="delivery-clock" aria-hidden="true" /> : badge.mark}
    </span>
  );
}
