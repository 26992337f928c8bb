// Above the chat list: "Select" mode with its bar ("Switch hosting on / off" for the ticked
// sessions, one request) and "Switch all hosting" for every assigned session in my data scope,
// after a confirmation. Results are spelled out ("3 switched on, 1 already on, 0 ended").
import { useState } from 'react';
import { MAX_BATCH } from '../api/hosting';
import { allAssignedText, cleared, NO_SELECTION, resultText, startSelecting, toggleAll } from '../hosting/selection';
import type { Selection } from '../hosting/selection';
import { hostingErrorText } from './HostingSwitch';
import { useInboxContext } from './inboxContext';

interface Props {
  selection: Selection;
  onSelection: (s: Selection) => void;
  /** Ids of the rows shown in the current tab (for "Select all"). */
  shown: readonly number[];
}

type Note = { tone: 'ok' | 'error'; text: string } | null;

export function HostingToolbar({ selection, onSelection, shown }: Props) {
  const { controller } = useInboxContext();
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<Note>(null);
  const [confirming, setConfirming] = useState<boolean | null>(null);

  async function batch(hosted: boolean) {
    if (selection.ids.length === 0) return;
    if (selection.ids.length > MAX_BATCH) {
      setNote({ tone: 'error', text: `Select at most ${MAX_BATCH.toLocaleString('en')} conversations at a time, or use Switch all hosting.` });
      return;
    }
    setBusy(true);
    setNote(null);
    try {
      const r = await controller.setHostingBatch(selection.ids, hosted);
      setNote({ tone: 'ok', text: resultText(r, hosted) });
      onSelection(cleared(selection));
    } catch (e) {
      setNote({ tone: 'error', text: hostingErrorText(e) });
    } finally {
      setBusy(false);
    }
  }

  async function all(hosted: boolean) {
    setBusy(true);
    setNote(null);
    try {
      const r = await controller.setHostingAllAssigned(hosted);
      setNote({ tone: 'ok', text: allAssignedText(r, hosted) });
      setConfirming(null);
    } catch (e) {
      setNote({ tone: 'error', text: hostingErrorText(e) });
    } finally {
      setBusy(false);
    }
  }

  const allTicked = shown.length > 0 && shown.every((id) => selection.ids.includes(id));

  return (
    <div className="hosting-toolbar" data-testid="hosting-toolbar">
      {!selection.active ? (
        <div className="hosting-toolbar-row">
          <button
            type="button"
            className="btn btn-ghost btn-sm"
            data-testid="select-mode"
            onClick={() => {
              setNote(null);
              onSelection(startSelecting());
            }}
          >
            Select
          </button>
          <button type="button" className="btn btn-ghost btn-sm" data-testid="hosting-all-on" disabled={busy} onClick={() => setConfirming(true)}>
            Switch all hosting on
          </button>
          <button type="button" className="btn btn-ghost btn-sm" data-testid="hosting-all-off" disabled={busy} onClick={() => setConfirming(false)}>
            Switch all hosting off
          </button>
        </div>
      ) : (
        <div className="hosting-toolbar-row hosting-selection-bar" data-testid="selection-bar" data-count={selection.ids.length}>
          <label className="hosting-select-all">
            <input type="checkbox" data-testid="select-all" checked={allTicked} disabled={shown.length === 0} onChange={() => onSelection(toggleAll(selection, shown))} />
            <span data-testid="selection-count">{selection.ids.length} selected</span>
          </label>
          <button type="button" className="btn btn-sm" data-testid="selection-hosting-on" disabled={busy || selection.ids.length === 0} onClick={() => void batch(true)}>
            Switch hosting on
          </button>
          <button type="button" className="btn btn-sm" data-testid="selection-hosting-off" disabled={busy || selection.ids.length === 0} onClick={() => void batch(false)}>
            Switch hosting off
          </button>
          <button type="button" className="btn btn-ghost btn-sm" data-testid="select-done" onClick={() => onSelection(NO_SELECTION)}>
            Done
          </button>
        </div>
      )}
      {confirming !== null && (
        <div className="hosting-confirm" role="alertdialog" aria-labelledby="hosting-confirm-text" data-testid="hosting-all-confirm">
          <p id="hosting-confirm-text">
            Switch robot hosting {confirming ? 'on' : 'off'} for every assigned conversation you can see?
            {confirming ? ' The bot will answer those visitors.' : ' Agents answer them again.'}
          </p>
          <div className="hosting-confirm-actions">
            <button type="button" className="btn btn-primary btn-sm" data-testid="hosting-all-confirm-yes" disabled={busy} onClick={() => void all(confirming)}>
              {busy ? 'Switching…' : `Switch ${confirming ? 'on' : 'off'}`}
            </button>
            <button type="button" className="btn btn-ghost btn-sm" data-testid="hosting-all-confirm-no" disabled={busy} onClick={() => setConfirming(null)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {note && (
        <p className={`hosting-note hosting-note-${note.tone}`} role={note.tone === 'error' ? 'alert' : 'status'} data-testid="hosting-result" data-tone={note.tone}>
          {note.text}{' '}
          <button type="button" className="link" onClick={() => setNote(null)}>
            Dismiss
          </button>
        </p>
      )}
    </div>
  );
}
