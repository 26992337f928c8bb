// The chat list's settings menu (per agent, stored on the server): show visitor labels on
// rows, and note name first. Plus the label chips a row shows when the first is on.
import { useEffect, useRef, useState } from 'react';
import { useCustomerInfo } from '../contacts/customerInfoContext';
import { useInboxState } from './inboxContext';

export function ChatListSettings() {
  const info = useCustomerInfo();
  const { prefs, prefsError } = useInboxState().customer;
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const outside = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const esc = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    document.addEventListener('mousedown', outside);
    document.addEventListener('keydown', esc);
    return () => {
      document.removeEventListener('mousedown', outside);
      document.removeEventListener('keydown', esc);
    };
  }, [open]);

  if (!info) return null;
  return (
    <div className="chatlist-settings" ref={ref}>
      <button
        type="button"
        className="btn btn-ghost btn-sm chatlist-settings-button"
        data-testid="chatlist-settings"
        aria-haspopup="true"
        aria-expanded={open}
        title="Chat list settings"
        onClick={() => setOpen((o) => !o)}
      >
        ⚙ View
      </button>
      {open && (
        <div className="chatlist-settings-menu" role="group" aria-label="Chat list settings">
          <label className="chatlist-settings-item">
            <input type="checkbox" data-testid="pref-show-labels" checked={prefs.show_visitor_labels} onChange={(e) => void info.setPreference('show_visitor_labels', e.target.checked)} />
            Show visitor labels
          </label>
          <label className="chatlist-settings-item">
            <input type="checkbox" data-testid="pref-note-name-first" checked={prefs.note_name_first} onChange={(e) => void info.setPreference('note_name_first', e.target.checked)} />
            Show note name first
          </label>
          {prefsError && (
            <p className="info-error" role="alert">
              {prefsError}
            </p>
          )}
        </div>
      )}
    </div>
  );
}

/** A row's visitor labels (only passed when "Show visitor labels" is on). */
export function ChatListSettingsLabels({ labels }: { labels: readonly string[] }) {
  if (labels.length === 0) return null;
  return (
    <span className="chat-item-labels" data-testid="chat-item-labels">
      {labels.map((l) => (
        <span key={l} className="chip chip-sm">
          {l}
        </span>
      ))}
    </span>
  );
}
