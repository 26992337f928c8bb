// Reply box: Enter sends, Shift+Enter adds a line. Typing notifications and the draft live
// in the controller; this component only forwards keystrokes.
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { KeyboardEvent } from 'react';
import type { Session } from '../api/types';
import { MAX_TEXT } from '../inbox/inboxController';
import { useInboxContext } from './inboxContext';

const MAX_HEIGHT_PX = 200;

export function Composer({ session, focusRequest }: { session: Session; focusRequest: number | null }) {
  const { controller } = useInboxContext();
  const [text, setText] = useState(() => controller.draft(session.id));
  const ref = useRef<HTMLTextAreaElement>(null);
  const ended = session.status === 'ended';
  const tooLong = text.length > MAX_TEXT;

  // Picking a chat (click, Enter) puts the cursor in its reply box; browsing the list with
  // the arrow keys (focusRequest null) leaves the focus there.
  useEffect(() => {
    if (focusRequest !== null && !ended) ref.current?.focus();
  }, [focusRequest, ended]);

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
    if (ended || tooLong) return;
    if (controller.send(session.id, text)) setText('');
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
      className={`composer${ended ? ' composer-disabled' : ''}`}
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <textarea
        ref={ref}
        data-testid="composer"
        rows={1}
        value={text}
        disabled={ended}
        placeholder={ended ? 'This conversation has ended.' : 'Write a reply…'}
        aria-label="Reply"
        onChange={(e) => change(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="composer-bar">
        <span className={`composer-hint${tooLong ? ' composer-too-long' : ''}`}>
          {tooLong ? `${text.length - MAX_TEXT} characters over the limit` : ended ? '' : 'Enter to send · Shift+Enter for a new line'}
        </span>
        <button type="submit" className="btn btn-primary" data-testid="send" disabled={ended || tooLong || text.trim() === ''}>
          Send
        </button>
      </div>
    </form>
  );
}
