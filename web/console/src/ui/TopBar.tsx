import type { MouseEvent } from 'react';
import type { Me, ProjectMembership } from '../api/types';
import { initials } from '../lib/initials';
import type { ConnectionStatus } from '../realtime/agentSocket';
import { ConnectionPill } from './ConnectionStatus';

export type View = 'inbox' | 'settings' | 'sessions' | 'contacts' | 'automation';

interface Props {
  me: Me;
  membership: ProjectMembership;
  connection: ConnectionStatus;
  view: View;
  /** Unread visitor messages, shown on the Inbox entry while another page is open. */
  unread: number;
  onNavigate: (view: View) => void;
  onSwitchProject: (id: number) => void;
  onLogout: () => void;
}

/** `permissions`: shown only to members who have one of them. */
const NAV: { view: View; label: string; href: string; permissions?: string[] }[] = [
  { view: 'inbox', label: 'Inbox', href: '/' },
  { view: 'sessions', label: 'Sessions', href: '/sessions' },
  { view: 'contacts', label: 'Contacts', href: '/contacts' },
  { view: 'automation', label: 'Automation', href: '/automation', permissions: ['automation.manage', 'automation.view'] },
  { view: 'settings', label: 'Settings', href: '/settings/notifications' },
];

export function TopBar({ me, membership, connection, view, unread, onNavigate, onSwitchProject, onLogout }: Props) {
  const name = me.user.display_name || me.user.email;
  const follow = (e: MouseEvent<HTMLAnchorElement>, to: View) => {
    // Let the browser open a new tab or window for modified clicks.
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    onNavigate(to);
  };
  return (
    <header className="topbar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true" />
        <span className="brand-name">Switchboard</span>
      </div>
      {me.projects.length > 1 ? (
        <label className="project-switch">
          <span className="visually-hidden">Project</span>
          <select value={membership.project.id} onChange={(e) => onSwitchProject(Number(e.target.value))} data-testid="project-select">
            {me.projects.map((p) => (
              <option key={p.project.id} value={p.project.id}>
                {p.project.name}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <span className="project-name">{membership.project.name}</span>
      )}
      <nav className="topnav" aria-label="Main">
        {NAV.filter((n) => !n.permissions || n.permissions.some((p) => membership.role.permissions.includes(p))).map((n) => (
          <a
            key={n.view}
            href={n.href}
            className={`topnav-item${view === n.view ? ' topnav-active' : ''}`}
            aria-current={view === n.view ? 'page' : undefined}
            data-testid={`nav-${n.view}`}
            onClick={(e) => follow(e, n.view)}
          >
            {n.label}
            {n.view === 'inbox' && view !== 'inbox' && unread > 0 && (
              <span className="topnav-badge" aria-label={`${unread} unread`}>
                {unread > 99 ? '99+' : unread}
              </span>
            )}
          </a>
        ))}
      </nav>
      <div className="topbar-spacer" />
      <ConnectionPill status={connection} />
      <div className="user-chip" title={me.user.email}>
        <span className="avatar avatar-sm avatar-me" aria-hidden="true">
          {initials(name)}
        </span>
        <span className="user-name">{name}</span>
        <span className="user-role">{membership.role.name}</span>
      </div>
      <button type="button" className="btn btn-ghost btn-sm" data-testid="logout" onClick={onLogout}>
        Log out
      </button>
    </header>
  );
}
