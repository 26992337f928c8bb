// The line above a Messenger chat's reply box: time left in the 24 h window (counting down),
// the Human Agent period, the tag picker past 7 days, or why nothing can be sent. What it says
// comes from channels/replyWindow.ts; the window itself from the inbox state.
import type { WindowBar } from '../channels/replyWindow';

interface Props {
  bar: WindowBar;
  tag: string;
  onTag: (tag: string) => void;
  disabled: boolean;
}

export function ReplyWindowBar({ bar, tag, onTag, disabled }: Props) {
  return (
    <div className={`reply-window reply-window-${bar.tone}`} data-testid="reply-window" data-state={bar.kind} role="status">
      <span className="reply-window-dot" aria-hidden="true" />
      <span className="reply-window-text" data-testid="reply-window-text">
        {bar.text}
      </span>
      {bar.kind === 'tag_only' && (
        <label className="reply-window-tag">
          <span className="visually-hidden">Message tag</span>
          <select data-testid="reply-window-tag" value={tag} disabled={disabled} onChange={(e) => onTag(e.target.value)}>
            <option value="">Pick a tag…</option>
            {bar.tags.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
      )}
    </div>
  );
}
