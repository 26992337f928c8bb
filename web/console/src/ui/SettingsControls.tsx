// The pieces every settings form shares: a labelled row, a switch, and the save footer with
// its status (saved / error / unsaved changes).
import type { ReactNode } from 'react';

/** What a settings controller reports about its last save. */
export type SaveResult = { kind: 'saved' } | { kind: 'error'; message: string } | null;

export function SettingRow({ label, htmlFor, help, dim, children }: { label: string; htmlFor: string; help: ReactNode; dim?: boolean; children: ReactNode }) {
  return (
    <div className={`setting-row${dim ? ' setting-row-dim' : ''}`}>
      <div className="setting-text">
        <label className="setting-label" htmlFor={htmlFor}>
          {label}
        </label>
        <p className="setting-help">{help}</p>
      </div>
      <div className="setting-control">{children}</div>
    </div>
  );
}

/** A checkbox drawn as a switch; still a checkbox to the keyboard, tests and screen readers. */
export function Switch({ id, testId, checked, disabled, onChange }: { id: string; testId: string; checked: boolean; disabled: boolean; onChange: (v: boolean) => void }) {
  return (
    <span className="switch">
      <input id={id} type="checkbox" role="switch" data-testid={testId} checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} />
      <span className="switch-track" aria-hidden="true">
        <span className="switch-thumb" />
      </span>
    </span>
  );
}

/** The form's footer: how the last save went, and Save. Test ids are `<testPrefix>-saved`, `-error`, `-save`. */
export function SaveFooter({ saveResult, dirty, saving, testPrefix }: { saveResult: SaveResult; dirty: boolean; saving: boolean; testPrefix: string }) {
  return (
    <div className="settings-card-footer">
      <div className="settings-status" aria-live="polite">
        {saveResult?.kind === 'saved' && (
          <span className="saved-note" data-testid={`${testPrefix}-saved`}>
            <span className="check" aria-hidden="true" />
            Saved
          </span>
        )}
        {saveResult?.kind === 'error' && (
          <span className="inline-error" role="alert" data-testid={`${testPrefix}-error`}>
            {saveResult.message}
          </span>
        )}
        {dirty && !saveResult && <span className="muted">Unsaved changes</span>}
      </div>
      <button type="submit" className="btn btn-primary" data-testid={`${testPrefix}-save`} disabled={saving || !dirty}>
        {saving ? 'Saving…' : 'Save'}
      </button>
    </div>
  );
}
