// "Online chat › Robot hosting": whether new sessions start hosted and whether an agent's reply
// hands a hosted session back to people. Editable with project.manage, read-only otherwise.
import { useEffect, useId, useState, useSyncExternalStore } from 'react';
import type { FormEvent } from 'react';
import { SaveFooter, SettingRow, Switch } from './SettingsControls';
import { HostingSettingsController } from '../hosting/hostingSettingsController';
import type { HostingSettingsApi } from '../hosting/hostingSettingsController';

interface Props {
  api: HostingSettingsApi;
  projectId: number;
  canManage: boolean;
  onUnauthenticated: () => void;
}

export function HostingSettingsPanel({ api, projectId, canManage, onUnauthenticated }: Props) {
  const [controller] = useState(() => new HostingSettingsController({ api, projectId, canManage, onUnauthenticated }));
  useEffect(() => {
    void controller.start();
    return () => controller.stop();
  }, [controller]);
  const state = useSyncExternalStore(controller.subscribe, controller.getState);
  const id = useId();
  const disabled = !canManage || state.saving;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void controller.save();
  };

  return (
    <div className="settings-content" data-testid="hosting-settings">
      <p className="breadcrumb">
        Online chat <span aria-hidden="true">›</span> Robot hosting
      </p>
      <h1 className="settings-title">Robot hosting</h1>
      <p className="settings-lead">
        A hosted conversation is answered by the bot; no agent is waited for. Agents switch hosting per conversation in the chat
        header, or for many at once from the chat list.
      </p>
      {state.load.kind === 'loading' && !state.saved && <p className="muted" aria-busy="true">Loading…</p>}
      {state.load.kind === 'error' && (
        <div className="notice notice-danger" role="alert" data-testid="hosting-settings-load-error">
          <span>{state.load.message}</span>
          <button type="button" className="link" onClick={() => void controller.load()}>
            Try again
          </button>
        </div>
      )}
      {state.saved && (
        <>
          {!canManage && (
            <div className="notice" data-testid="hosting-settings-readonly">
              Only members who can manage the project may change these settings.
            </div>
          )}
          <form className="settings-card" onSubmit={submit} noValidate aria-label="Robot hosting settings">
            <SettingRow label="New sessions start hosted (the bot answers first)" htmlFor={`${id}-new`} help="A conversation opened from now on starts with robot hosting on, e.g. outside the team's online hours. Agents can still take it.">
              <Switch id={`${id}-new`} testId="hosting-new-sessions" checked={state.form.new_sessions_hosted} disabled={disabled} onChange={(v) => controller.edit({ new_sessions_hosted: v })} />
            </SettingRow>
            <SettingRow label="An agent's reply switches hosting off" htmlFor={`${id}-handoff`} help="When an agent answers in a hosted conversation, hosting goes off and the chat says so. Off: the bot keeps hosting until someone switches it.">
              <Switch id={`${id}-handoff`} testId="hosting-reply-handoff" checked={state.form.agent_reply_hands_off} disabled={disabled} onChange={(v) => controller.edit({ agent_reply_hands_off: v })} />
            </SettingRow>
            {canManage && (
              <SaveFooter saveResult={state.saveResult} dirty={state.dirty} saving={state.saving} testPrefix="hosting-settings" />
            )}
          </form>
        </>
      )}
    </div>
  );
}


