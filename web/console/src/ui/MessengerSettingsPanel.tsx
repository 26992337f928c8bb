// Settings › Channels › Messenger: the connected Facebook Pages with their health, the form
// to connect or edit one (secrets write-only), what to paste into Meta's app dashboard, and
// contact sync per Page with live progress. Renders the MessengerController's state; rules
// live in channels/.
import { useEffect, useId, useState, useSyncExternalStore } from 'react';
import type { FormEvent, ReactNode } from 'react';
import type { Api } from '../api/http';
import { ChannelsApi } from '../api/channels';
import type { ChannelView } from '../api/channels';
import { healthLine, RETIRED_TAGS_HINT, secretStatus } from '../channels/messengerForm';
import { MessengerController } from '../channels/messengerController';
import type { Editor, MessengerPort, MessengerState } from '../channels/messengerController';
import { isActive, jobCounters, jobStateLabel } from '../channels/syncJobs';
import { fullTime } from '../lib/time';
import type { ServerFrame } from '../realtime/protocol';

interface Props {
  api: Api | MessengerPort;
  projectId: number;
  subscribeFrames?: (listener: (frame: ServerFrame) => void) => () => void;
  onUnauthenticated: () => void;
}

function port(api: Api | MessengerPort): MessengerPort {
  return 'connectMessenger' in api ? api : new ChannelsApi(api);
}

export function MessengerSettingsPanel({ api, projectId, subscribeFrames, onUnauthenticated }: Props) {
  const [controller] = useState(() => new MessengerController({ api: port(api), projectId, subscribeFrames, onUnauthenticated }));
  useEffect(() => {
    void controller.start();
    return () => controller.stop();
  }, [controller]);
  const state = useSyncExternalStore(controller.subscribe, controller.getState);

  return (
    <div className="settings-content" data-testid="messenger-page">
      <p className="breadcrumb">
        Channels <span aria-hidden="true">›</span> Messenger
      </p>
      <h1 className="settings-title">Messenger</h1>
      <p className="settings-lead">
        Connect a Facebook Page: messages people send the Page arrive in the inbox like web chats, and agents reply from the console within
        Messenger’s reply windows.
      </p>
      {state.notice && (
        <div className="notice notice-ok" role="status" data-testid="mx-notice">
          <span>{state.notice.message}</span>
        </div>
      )}
      {state.load.kind === 'loading' && state.channels.length === 0 && (
        <p className="muted" aria-busy="true">
          Loading…
        </p>
      )}
      {state.load.kind === 'error' && (
        <div className="notice notice-danger" role="alert" data-testid="mx-load-error">
          <span>{state.load.message}</span>
          <button type="button" className="link" onClick={() => void controller.load()}>
            Try again
          </button>
        </div>
      )}
      {state.load.kind === 'ready' && (
        <>
          {state.channels.length === 0 && !state.editor && <p className="muted mx-empty">No Page is connected yet.</p>}
          {state.channels.map((ch) =>
            state.editor?.mode === 'edit' && state.editor.channelId === ch.id ? (
              <PageForm key={ch.id} controller={controller} editor={state.editor} channel={ch} />
            ) : (
              <PageCard key={ch.id} controller={controller} state={state} channel={ch} />
            ),
          )}
          {state.editor?.mode === 'new' ? (
            <PageForm controller={controller} editor={state.editor} channel={null} />
          ) : (
            <div className="mx-connect">
              <button type="button" className="btn btn-primary" data-testid="mx-connect" disabled={state.editor !== null} onClick={() => controller.openNew()}>
                Connect a Page
              </button>
            </div>
          )}
        </>
      )}
    </div>
  );
}

function PageCard({ controller, state, channel }: { controller: MessengerController; state: MessengerState; channel: ChannelView }) {
  const m = channel.messenger;
  const health = healthLine(channel);
  return (
    <section className="settings-card settings-card-pad mx-page" data-testid="mx-page" data-channel-id={channel.id} aria-label={m?.page_name ?? channel.name}>
      <div className="section-head">
        <div>
          <h2 className="setting-label">{m?.page_name ?? channel.name}</h2>
          <p className="setting-help">
            Page {m?.page_id ?? '—'} · App {m?.app_id ?? '—'}
          </p>
        </div>
        <button type="button" className="btn btn-sm" data-testid="mx-edit" disabled={state.editor !== null} onClick={() => controller.openEdit(channel.id)}>
          Edit
        </button>
      </div>
      <p className={`mx-health mx-health-${health.tone}`} data-testid="mx-health" data-health={channel.health} role={health.tone === 'ok' ? undefined : 'alert'}>
        <span className="mx-health-dot" aria-hidden="true" />
        <strong>{health.text}</strong>
        {health.detail && <span className="mx-health-detail"> — {health.detail}</span>}
      </p>
      {m && (
        <dl className="mx-facts">
          <Fact label="Page access token">
            <SecretState has={m.has_page_token} testId="mx-has-page-token" />
          </Fact>
          <Fact label="App secret">
            <SecretState has={m.has_app_secret} testId="mx-has-app-secret" />
          </Fact>
          <Fact label="Webhook verify token">
            <SecretState has={m.has_verify_token} testId="mx-has-verify-token" />
          </Fact>
          <Fact label="Human Agent permission">{m.human_agent ? 'Yes: human replies allowed up to 7 days' : 'No: replies within 24 hours only'}</Fact>
          <Fact label="Message tags past 7 days">{m.allowed_tags.length ? m.allowed_tags.join(', ') : <span className="muted">None</span>}</Fact>
        </dl>
      )}
      {m && <WebhookHelp url={m.webhook_url} />}
      <SyncBox controller={controller} state={state} channelId={channel.id} />
    </section>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="mx-fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function SecretState({ has, testId }: { has: boolean; testId: string }) {
  return (
    <span className={`mx-secret ${has ? 'mx-secret-set' : 'mx-secret-unset'}`} data-testid={testId} data-set={has}>
      {secretStatus(has)}
    </span>
  );
}

function WebhookHelp({ url }: { url: string }) {
  return (
    <div className="mx-webhook">
      <h3 className="mx-subhead">Set up the webhook in Meta’s app dashboard</h3>
      <ol className="mx-steps">
        <li>
          Open your app › Messenger › Settings › Webhooks, and choose “Add Callback URL”.
        </li>
        <li>
          Callback URL: <code data-testid="mx-webhook-url">{url}</code>
        </li>
        <li>Verify token: the webhook verify token you entered here (it is write-only; paste the same text in both places).</li>
        <li>
          Subscribe the Page to <code>messages</code>, <code>messaging_postbacks</code>, <code>message_deliveries</code>, <code>message_reads</code>,{' '}
          <code>message_echoes</code> and <code>standby</code>.
        </li>
      </ol>
    </div>
  );
}

function SyncBox({ controller, state, channelId }: { controller: MessengerController; state: MessengerState; channelId: number }) {
  const job = state.jobs[channelId];
  const ui = controller.syncState(channelId);
  const active = isActive(job);
  const busy = ui.busy !== null;
  return (
    <div className="mx-sync" data-testid="mx-sync">
      <h3 className="mx-subhead">Contact sync</h3>
      <p className="setting-help">Imports the Page’s existing conversations: each person as a contact, with their 20 latest messages. Running it again changes nothing already imported.</p>
      <div className="mx-sync-actions">
        <button type="button" className="btn btn-sm" data-testid="mx-sync-recent" disabled={busy || active} onClick={() => void controller.syncRecent(channelId)}>
          {ui.busy === 'recent' ? 'Starting…' : 'Sync recent 100'}
        </button>
        <button type="button" className="btn btn-sm" data-testid="mx-sync-all" disabled={busy || active || ui.confirmAll} onClick={() => controller.askSyncAll(channelId)}>
          {ui.busy === 'all' ? 'Starting…' : 'Sync all'}
        </button>
        {active && (
          <button type="button" className="btn btn-sm btn-danger-outline" data-testid="mx-sync-cancel" disabled={busy} onClick={() => void controller.cancelSync(channelId)}>
            {ui.busy === 'cancel' ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </div>
      {ui.confirmAll && (
        <div className="notice notice-warn mx-confirm" role="alertdialog" aria-label="Sync all conversations?" data-testid="mx-sync-all-confirm">
          <span>Sync every conversation of this Page? A Page with years of messages can take hours (Meta allows about 2 requests a second). You can cancel it.</span>
          <span className="mx-confirm-actions">
            <button type="button" className="btn btn-sm btn-primary" data-testid="mx-sync-all-yes" onClick={() => void controller.confirmSyncAll(channelId)}>
              Sync all
            </button>
            <button type="button" className="btn btn-sm" data-testid="mx-sync-all-no" onClick={() => controller.dismissSyncAll(channelId)}>
              Not now
            </button>
          </span>
        </div>
      )}
      {ui.error && (
        <p className="inline-error" role="alert" data-testid="mx-sync-error">
          {ui.error}
        </p>
      )}
      {job && (
        <div className={`mx-job mx-job-${job.state}`} data-testid="mx-job" data-state={job.state} data-job-id={job.id} aria-live="polite">
          <div className="mx-job-line">
            {active && <span className="spinner" aria-hidden="true" />}
            <strong data-testid="mx-job-state">{jobStateLabel(job)}</strong>
            <span className="muted"> · updated {fullTime(job.updated_at)}</span>
          </div>
          <div className="mx-job-counters" data-testid="mx-job-counters" data-conversations={job.conversations_done} data-contacts={job.contacts_imported} data-messages={job.messages_imported} data-errors={job.errors}>
            {jobCounters(job)}
          </div>
          {job.last_error && (
            <div className="mx-job-error" data-testid="mx-job-last-error">
              Last error: {job.last_error}
            </div>
          )}
        </div>
      )}
    </div>
  );
}

function PageForm({ controller, editor, channel }: { controller: MessengerController; editor: Editor; channel: ChannelView | null }) {
  const id = useId();
  const f = editor.form;
  const m = channel?.messenger ?? null;
  const editing = editor.mode === 'edit';
  const disabled = editor.saving;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void controller.save();
  };
  const secretHint = (has: boolean | undefined) => (editing ? `Currently ${secretStatus(has)}. Leave empty to keep it.` : 'Required. Stored encrypted; never shown again.');
  return (
    <form className="settings-card settings-card-pad mx-form" onSubmit={submit} noValidate aria-label={editing ? 'Edit the Page' : 'Connect a Page'} data-testid="mx-form">
      <h2 className="setting-label">{editing ? `Edit ${m?.page_name ?? channel?.name ?? 'the Page'}` : 'Connect a Page'}</h2>
      <div className="mx-grid">
        <Field id={`${id}-pid`} label="Page id" hint={editing ? 'A connected Page keeps its id.' : 'Digits, from the Page’s About section.'}>
          <input id={`${id}-pid`} data-testid="mx-page-id" inputMode="numeric" autoComplete="off" value={f.pageId} disabled={disabled || editing} onChange={(e) => controller.edit({ pageId: e.target.value })} />
        </Field>
        <Field id={`${id}-pname`} label="Page name">
          <input id={`${id}-pname`} data-testid="mx-page-name" autoComplete="off" value={f.pageName} disabled={disabled} onChange={(e) => controller.edit({ pageName: e.target.value })} />
        </Field>
        <Field id={`${id}-ptoken`} label="Page access token" hint={secretHint(m?.has_page_token)}>
          <input
            id={`${id}-ptoken`}
            data-testid="mx-page-token"
            type="password"
            autoComplete="new-password"
            value={f.pageToken}
            placeholder={editing ? 'unchanged' : ''}
            disabled={disabled}
            onChange={(e) => controller.edit({ pageToken: e.target.value })}
          />
        </Field>
        <Field id={`${id}-appid`} label="App id">
          <input id={`${id}-appid`} data-testid="mx-app-id" inputMode="numeric" autoComplete="off" value={f.appId} disabled={disabled} onChange={(e) => controller.edit({ appId: e.target.value })} />
        </Field>
        <Field id={`${id}-secret`} label="App secret" hint={secretHint(m?.has_app_secret)}>
          <input
            id={`${id}-secret`}
            data-testid="mx-app-secret"
            type="password"
            autoComplete="new-password"
            value={f.appSecret}
            placeholder={editing ? 'unchanged' : ''}
            disabled={disabled}
            onChange={(e) => controller.edit({ appSecret: e.target.value })}
          />
        </Field>
        <Field id={`${id}-verify`} label="Webhook verify token" hint={editing ? secretHint(m?.has_verify_token) : 'Any text you choose; paste the same in Meta’s dashboard.'}>
          <input
            id={`${id}-verify`}
            data-testid="mx-verify-token"
            type="password"
            autoComplete="new-password"
            value={f.verifyToken}
            placeholder={editing ? 'unchanged' : ''}
            disabled={disabled}
            onChange={(e) => controller.edit({ verifyToken: e.target.value })}
          />
        </Field>
      </div>
      <div className="setting-row setting-row-flat">
        <div className="setting-text">
          <label className="setting-label" htmlFor={`${id}-ha`}>
            This app has the Human Agent permission
          </label>
          <p className="setting-help">Granted by Meta’s App Review. On: agents may reply up to 7 days after the person’s last message (never bots). Off: 24 hours.</p>
        </div>
        <div className="setting-control">
          <span className="switch">
            <input id={`${id}-ha`} type="checkbox" role="switch" data-testid="mx-human-agent" checked={f.humanAgent} disabled={disabled} onChange={(e) => controller.edit({ humanAgent: e.target.checked })} />
            <span className="switch-track" aria-hidden="true">
              <span className="switch-thumb" />
            </span>
          </span>
        </div>
      </div>
      <div className="mx-tags">
        <label className="setting-label" htmlFor={`${id}-tag`}>
          Message tags allowed past 7 days
        </label>
        <p className="setting-help" data-testid="mx-tags-hint">
          {RETIRED_TAGS_HINT}
        </p>
        <div className="info-chips" data-testid="mx-tags" data-count={f.tags.length}>
          {f.tags.map((t) => (
            <span key={t} className="chip" data-testid="mx-tag">
              {t}
              <button type="button" className="chip-remove" aria-label={`Remove ${t}`} disabled={disabled} onClick={() => controller.removeTag(t)}>
                ×
              </button>
            </span>
          ))}
          {f.tags.length === 0 && <span className="muted">None (recommended)</span>}
        </div>
        <div className="mx-tag-add">
          <input
            id={`${id}-tag`}
            className="chip-input"
            data-testid="mx-tag-input"
            placeholder="TAG_NAME"
            autoComplete="off"
            value={f.tagDraft}
            disabled={disabled}
            onChange={(e) => controller.edit({ tagDraft: e.target.value })}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                controller.addTag();
              }
            }}
          />
          <button type="button" className="btn btn-sm" data-testid="mx-tag-add" disabled={disabled} onClick={() => controller.addTag()}>
            Add tag
          </button>
        </div>
      </div>
      <div className="settings-card-footer">
        <div className="settings-status" aria-live="polite">
          {editor.error && (
            <span className="inline-error" role="alert" data-testid="mx-form-error">
              {editor.error}
            </span>
          )}
        </div>
        <button type="button" className="btn" data-testid="mx-cancel" disabled={disabled} onClick={() => controller.closeEditor()}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" data-testid="mx-save" disabled={disabled}>
          {editor.saving ? 'Saving…' : editing ? 'Save' : 'Connect'}
        </button>
      </div>
    </form>
  );
}

function Field({ id, label, hint, children }: { id: string; label: string; hint?: string; children: ReactNode }) {
  return (
    <div className="team-field mx-field">
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && <span className="mx-field-hint">{hint}</span>}
    </div>
  );
}
