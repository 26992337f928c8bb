// Session management: the records of sessions under a filter, a live summary, and the
// Ongoing / Ended lists whose counts move with the agent socket. Renders the
// SessionsController's state; the rules live in reports/.
import { useEffect, useId, useRef, useState, useSyncExternalStore } from 'react';
import type { MouseEvent } from 'react';
import type { Api } from '../api/http';
import { ReportsApi } from '../api/reports';
import type { SessionRecord } from '../api/reports';
import { fullTime } from '../lib/time';
import { contactDetails, contactLabel, formatFirstResponse } from '../reports/format';
import { presetRange } from '../reports/filters';
import type { RecordTab } from '../reports/filters';
import { SessionsController } from '../reports/sessionsController';
import type { SessionsApi, SessionsState } from '../reports/sessionsController';
import { useInboxContext, useInboxState } from './inboxContext';

interface Props {
  api: Api | SessionsApi;
  onOpenChat: (sessionId: number) => void;
  onUnauthenticated: () => void;
}

function sessionsApi(api: Api | SessionsApi): SessionsApi {
  return 'records' in api ? api : new ReportsApi(api);
}

export function SessionManagementPage({ api, onOpenChat, onUnauthenticated }: Props) {
  const { controller: inbox, projectId, members } = useInboxContext();
  const membersRef = useRef(members);
  membersRef.current = members;
  const [controller] = useState(
    () =>
      new SessionsController({
        api: sessionsApi(api),
        projectId,
        viewer: () => inbox.getState().viewer,
        members: () => membersRef.current,
        onUnauthenticated,
      }),
  );
  useEffect(() => {
    void controller.start();
    const off = inbox.subscribeFrames((f) => controller.frame(f));
    return () => {
      off();
      controller.stop();
    };
  }, [controller, inbox]);
  const state = useSyncExternalStore(controller.subscribe, controller.getState);

  return (
    <div className="sm-page" data-testid="sessions-page">
      <div className="sm-head">
        <div>
          <h1 className="settings-title">Session management</h1>
          <p className="settings-lead">Every conversation with its receptionist and message counts. The numbers update live.</p>
        </div>
        <a className="btn" data-testid="sm-export" href={controller.exportUrl} download title={`Download the ${state.tab} sessions matching the filters as CSV`}>
          Export CSV
        </a>
      </div>
      <Filters controller={controller} state={state} />
      <Summary state={state} onRetry={() => void controller.loadSummary()} />
      <div className="sm-tabs" role="tablist" aria-label="Sessions">
        <Tab tab="ongoing" label="Ongoing" count={state.summary?.ongoing} current={state.tab} onSelect={(t) => controller.setTab(t)} />
        <Tab tab="ended" label="Ended" count={state.summary?.ended} current={state.tab} onSelect={(t) => controller.setTab(t)} />
      </div>
      <RecordList controller={controller} state={state} onOpenChat={onOpenChat} />
    </div>
  );
}

function Filters({ controller, state }: { controller: SessionsController; state: SessionsState }) {
  const id = useId();
  const { members } = useInboxContext();
  const tags = useInboxState().customer.tagList ?? [];
  const { form } = state;
  const any = form.receivedFrom || form.receivedTo || form.receptionist || form.channel || form.tag;
  return (
    <form className="sm-filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
      <div className="sm-field">
        <label htmlFor={`${id}-from`}>Received from</label>
        <input id={`${id}-from`} type="datetime-local" data-testid="sm-received-from" value={form.receivedFrom} onChange={(e) => controller.edit({ receivedFrom: e.target.value })} />
      </div>
      <div className="sm-field">
        <label htmlFor={`${id}-to`}>to</label>
        <input id={`${id}-to`} type="datetime-local" data-testid="sm-received-to" value={form.receivedTo} onChange={(e) => controller.edit({ receivedTo: e.target.value })} />
      </div>
      <div className="sm-field sm-presets">
        <span className="sm-label-spacer" aria-hidden="true" />
        <div className="sm-preset-row">
          <button type="button" className="btn btn-sm btn-ghost" onClick={() => controller.edit(presetRange('today', new Date()))}>
            Today
          </button>
          <button type="button" className="btn btn-sm btn-ghost" onClick={() => controller.edit(presetRange('7d', new Date()))}>
            7 days
          </button>
          <button type="button" className="btn btn-sm btn-ghost" onClick={() => controller.edit(presetRange('30d', new Date()))}>
            30 days
          </button>
        </div>
      </div>
      <div className="sm-field">
        <label htmlFor={`${id}-rec`}>Receptionist</label>
        <select id={`${id}-rec`} data-testid="sm-receptionist" value={form.receptionist} onChange={(e) => controller.edit({ receptionist: e.target.value })}>
          <option value="">Anyone</option>
          <option value="me">Me</option>
          {members.map((m) => (
            <option key={m.user_id} value={String(m.user_id)}>
              {m.display_name || m.email}
            </option>
          ))}
        </select>
      </div>
      <div className="sm-field">
        <label htmlFor={`${id}-ch`}>Channel</label>
        <select id={`${id}-ch`} data-testid="sm-channel" value={form.channel} onChange={(e) => controller.edit({ channel: e.target.value })}>
          <option value="">Any channel</option>
          {state.channels.map((c) => (
            <option key={c.id} value={String(c.id)}>
              {c.name}
            </option>
          ))}
        </select>
      </div>
      {(tags.length > 0 || form.tag) && (
        <div className="sm-field">
          <label htmlFor={`${id}-tag`}>Session tag</label>
          <select id={`${id}-tag`} data-testid="sm-tag" value={form.tag} onChange={(e) => controller.edit({ tag: e.target.value })}>
            <option value="">Any tag</option>
            {tags.map((t) => (
              <option key={t.id} value={String(t.id)}>
                {t.name}
              </option>
            ))}
          </select>
        </div>
      )}
      {any && (
        <div className="sm-field">
          <span className="sm-label-spacer" aria-hidden="true" />
          <button type="button" className="btn btn-sm" data-testid="sm-clear" onClick={() => controller.clearFilters()}>
            Clear filters
          </button>
        </div>
      )}
      {state.formError && (
        <p className="inline-error sm-form-error" role="alert" data-testid="sm-filter-error">
          {state.formError}
        </p>
      )}
    </form>
  );
}

function Summary({ state, onRetry }: { state: SessionsState; onRetry: () => void }) {
  const s = state.summary;
  const cell = (testId: string, label: string, value: number | undefined, tone: string) => (
    <div className={`sm-stat sm-stat-${tone}`}>
      <span className="sm-stat-value" data-testid={testId}>
        {value === undefined ? '–' : value.toLocaleString()}
      </span>
      <span className="sm-stat-label">{label}</span>
    </div>
  );
  return (
    <section className="sm-dashboard" aria-label="Summary" aria-live="polite">
      {cell('sm-ongoing', 'Ongoing', s?.ongoing, 'ongoing')}
      {cell('sm-ended', 'Ended', s?.ended, 'ended')}
      {cell('sm-total', 'Total', s?.total, 'total')}
      {state.summaryError && (
        <p className="inline-error sm-summary-error" role="alert">
          {state.summaryError}{' '}
          <button type="button" className="link" onClick={onRetry}>
            Try again
          </button>
        </p>
      )}
    </section>
  );
}

function Tab({ tab, label, count, current, onSelect }: { tab: RecordTab; label: string; count: number | undefined; current: RecordTab; onSelect: (t: RecordTab) => void }) {
  const selected = tab === current;
  return (
    <button
      type="button"
      role="tab"
      aria-selected={selected}
      className={`sm-tab${selected ? ' sm-tab-active' : ''}`}
      data-testid={`sm-tab-${tab}`}
      onClick={() => onSelect(tab)}
    >
      {label}
      {count !== undefined && <span className="sm-tab-count">{count}</span>}
    </button>
  );
}

function RecordList({ controller, state, onOpenChat }: { controller: SessionsController; state: SessionsState; onOpenChat: (id: number) => void }) {
  const items = state.records.items;
  const fresh = state.records.newIds.length;
  return (
    <section className="sm-list" role="tabpanel" aria-busy={state.list.kind === 'loading'} data-testid="sm-list" data-count={items.length}>
      {fresh > 0 && (
        <button type="button" className="sm-new" data-testid="sm-new" onClick={() => void controller.reload()}>
          {fresh === 1 ? '1 new session' : `${fresh} new sessions`} · Show
        </button>
      )}
      {state.list.kind === 'error' && (
        <div className="notice notice-danger" role="alert" data-testid="sm-error">
          <span>{state.list.message}</span>
          <button type="button" className="link" onClick={() => void controller.loadList()}>
            Try again
          </button>
        </div>
      )}
      <table className="sm-table">
        <thead>
          <tr>
            <th scope="col">Contact</th>
            <th scope="col">Receptionist</th>
            <th scope="col">Reception time</th>
            <th scope="col" className="sm-num">
              Messages
              <span className="sm-sub">total / visitor / agent</span>
            </th>
            <th scope="col" className="sm-num">First response</th>
            <th scope="col">Channel</th>
          </tr>
        </thead>
        <tbody>
          {items.map((r) => (
            <RecordRow key={r.id} record={r} onOpen={onOpenChat} />
          ))}
        </tbody>
      </table>
      {state.list.kind === 'loading' && items.length === 0 && <p className="sm-empty muted">Loading…</p>}
      {state.list.kind === 'ready' && items.length === 0 && (
        <p className="sm-empty" data-testid="sm-empty">
          {state.tab === 'ongoing' ? 'No ongoing sessions match the filters.' : 'No ended sessions match the filters.'}
        </p>
      )}
      {state.nextCursor && state.list.kind === 'ready' && (
        <div className="sm-more">
          <button type="button" className="btn btn-sm" data-testid="sm-more" disabled={state.loadingMore} onClick={() => void controller.loadMore()}>
            {state.loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
    </section>
  );
}

function RecordRow({ record: r, onOpen }: { record: SessionRecord; onOpen: (id: number) => void }) {
  const href = `/chats/${r.id}`;
  // The whole row opens the chat; a modified click on the name is left to the browser.
  const follow = (e: MouseEvent<HTMLTableRowElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    onOpen(r.id);
  };
  const details = contactDetails(r.contact);
  return (
    <tr className="sm-row" data-testid="sm-row" data-session-id={r.id} data-status={r.status} onClick={follow}>
      <td>
        <a className="sm-contact" href={href}>
          {contactLabel(r.contact)}
        </a>
        {r.contact.note_name?.trim() && r.contact.note_name.trim() !== r.contact.name && <span className="sm-sub">{r.contact.name}</span>}
        {details && (
          <span className="sm-sub" data-testid="sm-contact-details">
            {details}
          </span>
        )}
      </td>
      <td>{r.receptionist ? r.receptionist.display_name : <span className="muted">In queue</span>}</td>
      <td>{r.received_at ? <time dateTime={r.received_at}>{fullTime(r.received_at)}</time> : <span className="muted">—</span>}</td>
      <td className="sm-num">
        <span data-testid="sm-count-total" className="sm-count-total">
          {r.messages.total}
        </span>
        <span className="sm-slash"> / </span>
        <span data-testid="sm-count-visitor">{r.messages.visitor}</span>
        <span className="sm-slash"> / </span>
        <span data-testid="sm-count-agent">{r.messages.agent}</span>
      </td>
      <td className="sm-num" data-testid="sm-first-response">
        {formatFirstResponse(r.first_response_secs)}
      </td>
      <td className="sm-channel">{r.channel.name}</td>
    </tr>
  );
}
