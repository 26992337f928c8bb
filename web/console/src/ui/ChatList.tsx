// Left column: the four tabs and the rows of the selected one.
import { memo, useEffect, useRef, useState } from 'react';
import type { KeyboardEvent } from 'react';
import type { Preferences } from '../api/contacts';
import type { Session } from '../api/types';
import { rowTitle } from '../contacts/rowTitle';
import { tabSessions, unreadCount } from '../inbox/selectors';
import { TAB_IDS } from '../inbox/tabs';
import type { TabId } from '../inbox/tabs';
import { useNow } from '../lib/clock';
import { avatarTone, initials } from '../lib/initials';
import { activityLabel, fullTime, waitingLabel } from '../lib/time';
import { isSelected, NO_SELECTION, toggle } from '../hosting/selection';
import type { Selection } from '../hosting/selection';
import { ChatListSettings, ChatListSettingsLabels } from './ChatListSettings';
import { HostedBadge } from './HostingSwitch';
import { HostingToolbar } from './HostingToolbar';
import { memberName, useInboxContext, useInboxState } from './inboxContext';

const TAB_LABEL: Record<TabId, string> = { unassigned: 'Unassigned', mine: 'Mine', all: 'All', ended: 'Ended' };
const EMPTY_TEXT: Record<TabId, string> = {
  unassigned: 'No one is waiting in the queue.',
  mine: 'No conversations assigned to you.',
  all: 'No open conversations.',
  ended: 'No ended conversations yet.',
};

/** `browse`: opened by arrow keys, so focus stays in the list. */
export type OpenChat = (id: number, how?: 'select' | 'browse') => void;

export function ChatList({ onOpen }: { onOpen: OpenChat }) {
  const { controller } = useInboxContext();
  const state = useInboxState();
  const [tab, setTab] = useState<TabId>('unassigned');
  const listRef = useRef<HTMLUListElement>(null);
  const [selection, setSelection] = useState<Selection>(NO_SELECTION);

  useEffect(() => controller.ensureTab(tab), [controller, tab]);

  const rows = tabSessions(state, tab);
  const list = state.tabs[tab];

  function countOf(t: TabId): string | null {
    if (t === 'ended') return null;
    const n = tabSessions(state, t).length;
    if (!state.tabs[t].loaded) return null;
    return state.tabs[t].nextCursor ? `${n}+` : String(n);
  }

  // Arrow keys move between rows (and tabs), so the list works without a mouse.
  function onListKey(e: KeyboardEvent<HTMLUListElement>) {
    if (!['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(e.key)) return;
    const items = [...(listRef.current?.querySelectorAll<HTMLButtonElement>('button.chat-item') ?? [])];
    if (items.length === 0) return;
    const i = items.findIndex((b) => b === document.activeElement);
    let next = i;
    if (e.key === 'ArrowDown') next = Math.min(items.length - 1, i + 1);
    else if (e.key === 'ArrowUp') next = Math.max(0, i - 1);
    else if (e.key === 'Home') next = 0;
    else next = items.length - 1;
    e.preventDefault();
    items[next].focus();
    const id = Number(items[next].dataset.sessionId);
    if (Number.isFinite(id)) onOpen(id, 'browse');
  }

  function onTabKey(e: KeyboardEvent<HTMLDivElement>) {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const i = TAB_IDS.indexOf(tab);
    const next = TAB_IDS[(i + (e.key === 'ArrowRight' ? 1 : TAB_IDS.length - 1)) % TAB_IDS.length];
    e.preventDefault();
    setTab(next);
    document.getElementById(`tab-${next}`)?.focus();
  }

  return (
    <nav className="sidebar" aria-label="Conversations">
      <ChatListSettings />
      <HostingToolbar selection={selection} onSelection={setSelection} shown={rows.map((r) => r.id)} />
      <div className="tabs" role="tablist" aria-label="Conversation lists" onKeyDown={onTabKey}>
        {TAB_IDS.map((t) => {
          const count = countOf(t);
          return (
            <button
              key={t}
              id={`tab-${t}`}
              type="button"
              role="tab"
              aria-selected={tab === t}
              tabIndex={tab === t ? 0 : -1}
              className={`tab${tab === t ? ' tab-active' : ''}`}
              data-testid={`tab-${t}`}
              onClick={() => setTab(t)}
            >
              {TAB_LABEL[t]}
              {count !== null && <span className={`tab-count${t === 'unassigned' && count !== '0' ? ' tab-count-hot' : ''}`}>{count}</span>}
            </button>
          );
        })}
      </div>
      <ul className="chat-list" data-testid="chat-list" role="tabpanel" aria-labelledby={`tab-${tab}`} ref={listRef} onKeyDown={onListKey}>
        {rows.map((s, i) => (
          <li key={s.id} className={selection.active ? 'chat-li-selecting' : undefined}>
            {selection.active && (
              <label className="chat-item-check">
                <input
                  type="checkbox"
                  data-testid="chat-item-select"
                  data-session-id={s.id}
                  checked={isSelected(selection, s.id)}
                  onChange={() => setSelection((cur) => toggle(cur, s.id))}
                />
                <span className="visually-hidden">Select {rowTitle(s, state.customer.prefs).primary}</span>
              </label>
            )}
            <ChatRow
              session={s}
              unread={unreadCount(state, s.id)}
              active={state.openSessionId === s.id}
              // Roving focus: the open row (or the first) is the list's one Tab stop.
              focusable={state.openSessionId === s.id || (i === 0 && !rows.some((r) => r.id === state.openSessionId))}
              typing={!!state.visitorTyping[s.id]}
              prefs={state.customer.prefs}
              labels={state.customer.prefs.show_visitor_labels ? (state.customer.contacts[s.contact_id]?.labels ?? null) : null}
              onOpen={onOpen}
            />
          </li>
        ))}
        {rows.length === 0 && list.loaded && <li className="list-empty">{EMPTY_TEXT[tab]}</li>}
        {rows.length === 0 && !list.loaded && list.loading && <li className="list-empty">Loading…</li>}
        {list.error && (
          <li className="list-error" role="alert">
            {list.error}{' '}
            <button type="button" className="link" onClick={() => controller.ensureTab(tab)}>
              Retry
            </button>
          </li>
        )}
        {list.nextCursor && (
          <li className="list-more">
            <button type="button" className="btn btn-sm" data-testid="load-more" disabled={list.loading} onClick={() => controller.loadMore(tab)}>
              {list.loading ? 'Loading…' : 'Load more'}
            </button>
          </li>
        )}
      </ul>
    </nav>
  );
}

interface RowProps {
  session: Session;
  unread: number;
  active: boolean;
  focusable: boolean;
  typing: boolean;
  prefs: Preferences;
  /** The contact's labels, when the agent shows them. */
  labels: readonly string[] | null;
  onOpen: OpenChat;
}

const ChatRow = memo(function ChatRow({ session: s, unread, active, focusable, typing, prefs, labels, onOpen }: RowProps) {
  const { members, userId } = useInboxContext();
  const { primary: name, secondary: original } = rowTitle(s, prefs);
  const waiting = s.status !== 'ended' && s.awaiting_since !== null;
  let subtitle: string;
  if (typing) subtitle = 'typing…';
  else if (s.status === 'ended') subtitle = 'Ended';
  else if (s.status === 'unassigned') subtitle = s.bot_hosted ? 'With the bot' : 'Unassigned';
  else subtitle = s.assignee_id === userId ? 'Assigned to you' : `Assigned to ${memberName(members, s.assignee_id, userId)}`;

  return (
    <button
      type="button"
      className={`chat-item${active ? ' chat-item-active' : ''}${unread > 0 ? ' chat-item-unread' : ''}`}
      data-testid="chat-item"
      data-session-id={s.id}
      data-unread={unread}
      data-status={s.status}
      data-hosted={s.bot_hosted}
      aria-current={active ? 'true' : undefined}
      tabIndex={focusable ? 0 : -1}
      onClick={() => onOpen(s.id, 'select')}
    >
      <span className={`avatar avatar-tone-${avatarTone(s.contact_id)}`} aria-hidden="true">
        {initials(name)}
      </span>
      <span className="chat-item-body">
        <span className="chat-item-line">
          <span className="chat-item-name" data-testid="chat-item-name">
            <span className="name-primary">{name}</span>
            {original && <span className="name-secondary"> {original}</span>}
          </span>
          <ActivityTime iso={s.last_message_at} />
        </span>
        <span className="chat-item-line">
          <span className={`chat-item-sub${typing ? ' chat-item-typing' : ''}`}>{subtitle}</span>
          {labels && <ChatListSettingsLabels labels={labels} />}
          <span className="chat-item-badges">
            {s.bot_hosted && s.status !== 'ended' && <HostedBadge testId="chat-item-hosted" />}
            {waiting && s.awaiting_since && <WaitChip since={s.awaiting_since} />}
            {unread > 0 && (
              <span className="unread-badge" aria-label={`${unread} unread`}>
                {unread > 99 ? '99+' : unread}
              </span>
            )}
          </span>
        </span>
      </span>
    </button>
  );
});

function ActivityTime({ iso }: { iso: string }) {
  const now = useNow();
  return (
    <time className="chat-item-time" dateTime={iso} title={fullTime(iso)}>
      {activityLabel(iso, now)}
    </time>
  );
}

function WaitChip({ since }: { since: string }) {
  const now = useNow();
  const ms = now - Date.parse(since);
  // Amber after two minutes, red after five: the queue should be answered before that.
  const level = ms >= 300_000 ? 'wait-long' : ms >= 120_000 ? 'wait-mid' : 'wait-short';
  return (
    <span className={`wait-chip ${level}`} data-testid="chat-item-wait" title={`Waiting since ${fullTime(since)}`}>
      {waitingLabel(since, now)}
    </span>
  );
}
