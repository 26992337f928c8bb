// "Online chat › New message notification": the e-mail alert switch, the waiting time, bot-
// hosted sessions, a test e-mail and (for admins) the undelivered e-mails. Renders the
// NotificationsController's state; every rule lives in settings/.
import { useEffect, useId, useState, useSyncExternalStore } from 'react';
import type { FormEvent } from 'react';
import { SaveFooter, SettingRow, Switch } from './SettingsControls';
import type { OutboxRow } from '../api/types';
import { fullTime } from '../lib/time';
import { MAX_MINUTES, MIN_MINUTES, describeWait, minutesFromSecs, testMailText } from '../settings/notificationSettings';
import { NotificationsController } from '../settings/notificationsController';
import type { NotificationsApi, NotificationsState } from '../settings/notificationsController';

interface Props {
  api: NotificationsApi;
  projectId: number;
  userEmail: string;
  canManage: boolean;
  onUnauthenticated: () => void;
}

export const NOT_CONFIGURED_TEXT = 'E-mail is not configured on this server (SWITCHBOARD_SMTP_URL / SWITCHBOARD_SMTP_FROM)';

export function NotificationSettingsPanel({ api, projectId, userEmail, canManage, onUnauthenticated }: Props) {
  const [controller] = useState(() => new NotificationsController({ api, projectId, canManage, onUnauthenticated }));
  useEffect(() => {
    void controller.start();
    return () => controller.stop();
  }, [controller]);
  const state = useSyncExternalStore(controller.subscribe, controller.getState);

  return (
    <div className="settings-content">
      <p className="breadcrumb">
        Online chat <span aria-hidden="true">›</span> New message notification
      </p>
      <h1 className="settings-title">New message notification</h1>
      <p className="settings-lead">
        Get an e-mail when a visitor has waited longer than the waiting time for a reply. It goes to the agent the chat is
        assigned to, or to every member of the project while it is unassigned.
      </p>
      {state.load.kind === 'loading' && !state.saved && <p className="muted" aria-busy="true">Loading…</p>}
      {state.load.kind === 'error' && (
        <div className="notice notice-danger" role="alert" data-testid="notify-load-error">
          <span>{state.load.message}</span>
          <button type="button" className="link" onClick={() => void controller.load()}>
            Try again
          </button>
        </div>
      )}
      {state.saved && (
        <>
          {!state.saved.email_configured && (
            <div className="notice notice-warn" data-testid="notify-not-configured">
              <strong>{NOT_CONFIGURED_TEXT}</strong>
              <span>You can still choose the settings; no e-mail is sent until an administrator sets both options and restarts the server.</span>
            </div>
          )}
          {!canManage && (
            <div className="notice" data-testid="notify-readonly">
              Only members who can manage the project may change these settings.
            </div>
          )}
          <SettingsForm controller={controller} state={state} canManage={canManage} />
          {canManage && <TestMail controller={controller} state={state} userEmail={userEmail} />}
          {canManage && <FailedMails controller={controller} state={state} />}
        </>
      )}
    </div>
  );
}

function SettingsForm({ controller, state, canManage }: { controller: NotificationsController; state: NotificationsState; canManage: boolean }) {
  const id = useId();
  const saved = state.saved!;
  const { form } = state;
  const disabled = !canManage || state.saving;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void controller.save();
  };
  // A stored time that is not whole minutes (set through the API) is spelled out.
  const storedNote = saved.wait_secs % 60 !== 0 && form.minutes.trim() === minutesFromSecs(saved.wait_secs);

  return (
    <form className="settings-card" onSubmit={submit} noValidate aria-label="E-mail notification settings">
      <SettingRow
        label="E-mail notification"
        htmlFor={`${id}-email`}
        help="Send an e-mail when a visitor's message gets no reply from an agent within the waiting time. One e-mail per wait."
      >
        <Switch id={`${id}-email`} testId="notify-email-enabled" checked={form.emailEnabled} disabled={disabled} onChange={(v) => controller.edit({ emailEnabled: v })} />
      </SettingRow>
      <SettingRow
        label="Waiting time"
        htmlFor={`${id}-wait`}
        dim={!form.emailEnabled}
        help={
          <>
            Minutes without a reply before the e-mail goes out, from {MIN_MINUTES} to {MAX_MINUTES} (7 days).
            {storedNote && <span className="setting-note"> Currently {describeWait(saved.wait_secs)}.</span>}
          </>
        }
      >
        <div className="minutes-field">
          <input
            id={`${id}-wait`}
            data-testid="notify-wait-minutes"
            type="number"
            inputMode="numeric"
            min={MIN_MINUTES}
            max={MAX_MINUTES}
            step={1}
            value={form.minutes}
            disabled={disabled}
            aria-invalid={state.saveResult?.kind === 'error' ? true : undefined}
            onChange={(e) => controller.edit({ minutes: e.target.value })}
          />
          <span className="minutes-unit">minutes</span>
        </div>
      </SettingRow>
      <SettingRow
        label="Also for bot-hosted sessions"
        htmlFor={`${id}-hosted`}
        dim={!form.emailEnabled}
        help="Alert too while a bot is answering the visitor. The wait counts from the visitor's message even though the bot replies."
      >
        <Switch
          id={`${id}-hosted`}
          testId="notify-include-hosted"
          checked={form.includeBotHosted}
          disabled={disabled}
          onChange={(v) => controller.edit({ includeBotHosted: v })}
        />
      </SettingRow>
      {canManage && (
        <SaveFooter saveResult={state.saveResult} dirty={state.dirty} saving={state.saving} testPrefix="notify" />
      )}
    </form>
  );
}



function TestMail({ controller, state, userEmail }: { controller: NotificationsController; state: NotificationsState; userEmail: string }) {
  const configured = state.saved!.email_configured;
  const t = state.test;
  const busy = t.kind === 'sending' || t.kind === 'pending';
  let result: { text: string; tone: string; state: string } | null = null;
  if (t.kind === 'sending') result = { text: `Sending to ${userEmail}…`, tone: 'pending', state: 'sending' };
  else if (t.kind === 'pending') result = { text: testMailText(t.row), tone: 'pending', state: 'pending' };
  else if (t.kind === 'done') result = { text: testMailText(t.row, t.timedOut), tone: t.row.state, state: t.row.state };
  else if (t.kind === 'error') result = { text: t.message, tone: 'failed', state: 'error' };

  return (
    <section className="settings-card settings-card-pad" aria-labelledby="notify-test-title">
      <div className="setting-row setting-row-flat">
        <div className="setting-text">
          <h2 className="setting-label" id="notify-test-title">
            Test e-mail
          </h2>
          <p className="setting-help">
            Sends a test e-mail to you ({userEmail}) through this server's SMTP settings, and waits for the result.
          </p>
        </div>
        <div className="setting-control">
          <button type="button" className="btn" data-testid="notify-test" disabled={!configured || busy} onClick={() => void controller.sendTest()}>
            {busy && <span className="spinner" aria-hidden="true" />}
            {busy ? 'Sending…' : 'Send test e-mail'}
          </button>
        </div>
      </div>
      {result && (
        <p className={`test-result test-result-${result.tone}`} role="status" data-testid="notify-test-result" data-state={result.state}>
          {result.text}
        </p>
      )}
    </section>
  );
}

function FailedMails({ controller, state }: { controller: NotificationsController; state: NotificationsState }) {
  const items = state.failedItems;
  return (
    <section className="settings-card settings-card-pad" aria-labelledby="notify-failed-title">
      <div className="section-head">
        <div>
          <h2 className="setting-label" id="notify-failed-title">
            Undelivered e-mails
          </h2>
          <p className="setting-help">E-mails the server gave up on, newest first. Temporary failures are retried for a few hours before an e-mail lands here.</p>
        </div>
        <button type="button" className="btn btn-sm" data-testid="notify-failed-refresh" disabled={state.failed.kind === 'loading'} onClick={() => void controller.refreshFailed()}>
          Refresh
        </button>
      </div>
      <div data-testid="notify-failed-list" data-count={items.length}>
        {state.failed.kind === 'error' && (
          <p className="inline-error" role="alert">
            {state.failed.message}
          </p>
        )}
        {state.failed.kind !== 'error' && items.length === 0 && (
          <p className="failed-empty">{state.failed.kind === 'loading' ? 'Loading…' : 'No undelivered e-mails.'}</p>
        )}
        {items.length > 0 && (
          <ul className="failed-list">
            {items.map((m) => (
              <FailedMail key={m.id} mail={m} />
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}

function FailedMail({ mail }: { mail: OutboxRow }) {
  return (
    <li className="failed-item" data-testid="notify-failed-item">
      <div className="failed-line">
        <span className="failed-to">{mail.to}</span>
        <time className="failed-time" dateTime={mail.created_at}>
          {fullTime(mail.created_at)}
        </time>
      </div>
      <div className="failed-subject">{mail.subject}</div>
      <div className="failed-error">
        {mail.last_error ?? 'Unknown error'}
        {mail.attempts > 1 && <span className="muted"> · {mail.attempts} attempts</span>}
      </div>
    </li>
  );
}
