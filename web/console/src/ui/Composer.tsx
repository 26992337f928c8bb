// Reply box: Enter sends, Shift+Enter adds a line. Typing notifications and the draft live
// in the controller; this component only forwards keystrokes. On Messenger chats the reply
// window bar sits on top: it may ask for a message tag, or close the box.
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { KeyboardEvent } from 'react';
import type { Session } from '../api/types';
import { tagForSend, windowBar } from '../channels/replyWindow';
import { MAX_TEXT } from '../inbox/inboxController';
import type { ReplyWindowEntry } from '../inbox/reducer';
import { useNow } from '../lib/clock';
import { useInboxContext } from './inboxContext';
import { ReplyWindowBar } from './ReplyWindowBar';

const MAX_HEIGHT_PX = 200;

interface Props {
  session: Session;
  focusRequest: number | null;
  /** The reply window of a Messenger chat; undefined for web chats. */
  replyWindow?: ReplyWindowEntry;
}

export function Composer({ session, focusRequest, replyWindow }: Props) {
  const { controller } = useInboxContext();
  const [text, setText] = useState(() => controller.draft(session.id));
  const [tag, setTag] = useState('');
  const ref = useRef<HTMLTextAreaElement>(null);
  const ended = session.status === 'ended';
  const tooLong = text.length > MAX_TEXT;
  const bar = replyWindow ? <WindowLine entry={replyWindow} tag={tag} onTag={setTag} ended={ended} /> : null;
  // Whether a reply is possible does not change with the countdown (the controller reads the
  // window again at its boundary), so this needs no ticking clock.
  const barState = replyWindow ? windowBar(replyWindow.window, Date.now()) : null;
  const windowClosed = !ended && barState?.kind === 'closed';
  const needsTag = !ended && barState?.kind === 'tag_only' && !barState.tags.includes(tag);
  const blocked = ended || windowClosed;

  // Picking a chat (click, Enter) puts the cursor in its reply box; browsing the list with
  // the arrow keys (focusRequest null) leaves the focus there.
  useEffect(() => {
    if (focusRequest !== null && !blocked) ref.current?.focus();
  }, [focusRequest, blocked]);

  // Grow with the text up to a limit (style via CSSOM, which the CSP allows).
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(MAX_HEIGHT_PX, el.scrollHeight)}px`;
  }, [text]);

  function change(v: string) {
    setText(v);
    controller.composing(session.id, v);
  }

  function submit() {
    if (blocked || tooLong) return;
    const t = tagForSend(barState, tag);
    if (!t.ok) return;
    if (controller.send(session.id, text, t.tag)) setText('');
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    // isComposing: Enter that confirms an IME candidate must not send.
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    } else if (e.key === 'Escape') {
      ref.current?.blur();
    }
  }

  return (
    <form
      className={`composer${blocked ? ' composer-disabled' : ''}`}
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {bar}
      <textarea
        ref={ref}
        data-testid="composer"
        rows={1}
        value={text}
        disabled={blocked}
        placeholder={ended ? 'This conversation has ended.' : windowClosed ? 'Replies are not possible until the person writes again.' : 'Write a reply…'}
        aria-label="Reply"
        onChange={(e) => change(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="composer-bar">
        <span className={`composer-hint${tooLong ? ' composer-too-long' : ''}`}>
          {tooLong
            ? `${text.length - MAX_TEXT} characters over the limit`
            : blocked
              ? ''
              : needsTag
                ? 'Pick a message tag to send past the 7-day window'
                : 'Enter to send · Shift+Enter for a new line'}
        </span>
        <button type="submit" className="btn btn-primary" data-testid="send" disabled={blocked || tooLong || needsTag || text.trim() === ''}>
          Send
        </button>
      </div>
    </form>
  );
}

function WindowLine({ entry, tag, onTag, ended }: { entry: ReplyWindowEntry; tag: string; onTag: (t: string) => void; ended: boolean }) {
  // Re-renders every second for the countdown (one shared ticker).
  const now = useNow();
  const bar = windowBar(entry.window, now);
  if (ended) return null;
  if (!bar) {
    if (entry.error) {
      return (
        <div className="reply-window reply-window-warn" data-testid="reply-window" data-state="error" role="status">
          <span className="reply-window-text">Could not read the reply window: {entry.error}</span>
        </div>
      );
    }
    return entry.loading ? (
      <div className="reply-window" data-testid="reply-window" data-state="loading">
        <span className="reply-window-text muted">Checking the reply window…</span>
      </div>
    ) : null;
  }
  return <ReplyWindowBar bar={bar} tag={tag} onTag={onTag} disabled={ended} />;
}
