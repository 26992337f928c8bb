// The settings area: a section list on the left, the chosen page on the right:
// "Online chat › New message notification" and "› Robot hosting", "Channels › Messenger" (with channels.manage)
// and "Team".
import { useContext, useEffect, useState } from 'react';
import type { MouseEvent } from 'react';
import type { Api } from '../api/http';
import type { Me, ProjectMembership } from '../api/types';
import { pathForRoute, routeFromPath } from '../lib/route';
import type { SettingsSection } from '../lib/route';
import { InboxContext } from './inboxContext';
import { HostingApi } from '../api/hosting';
import { HostingSettingsPanel } from './HostingSettingsPanel';
import { MessengerSettingsPanel } from './MessengerSettingsPanel';
import { NotificationSettingsPanel } from './NotificationSettingsPanel';
import { TeamSettingsPanel } from './TeamSettingsPanel';

export const MANAGE_PROJECT = 'project.manage';
export const MANAGE_TEAM = 'team.manage';
export const MANAGE_CHANNELS = 'channels.manage';

interface Props {
  api: Api;
  me: Me;
  membership: ProjectMembership;
  onUnauthenticated: () => void;
}

function sectionFromPath(): SettingsSection {
  const r = routeFromPath(window.location.pathname);
  return r.kind === 'settings' ? r.section : 'notifications';
}

export function SettingsPage({ api, me, membership, onUnauthenticated }: Props) {
  const canManage = membership.role.permissions.includes(MANAGE_PROJECT);
  const canManageChannels = membership.role.permissions.includes(MANAGE_CHANNELS);
  // The agent socket's frames (sync progress), when the page is inside the inbox screen.
  const inbox = useContext(InboxContext);
  const [section, setSection] = useState<SettingsSection>(sectionFromPath);
  const [hostingApi] = useState(() => new HostingApi(api));
  useEffect(() => {
    const popstate = () => setSection(sectionFromPath());
    window.addEventListener('popstate', popstate);
    return () => window.removeEventListener('popstate', popstate);
  }, []);
  const go = (e: MouseEvent<HTMLAnchorElement>, to: SettingsSection) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (to === section) return;
    window.history.pushState(null, '', pathForRoute({ kind: 'settings', section: to }));
    setSection(to);
  };
  const item = (to: SettingsSection, label: string) => (
    <a
      className={`settings-nav-item${section === to ? ' settings-nav-item-active' : ''}`}
      aria-current={section === to ? 'page' : undefined}
      href={pathForRoute({ kind: 'settings', section: to })}
      data-testid={`settings-nav-${to}`}
      onClick={(e) => go(e, to)}
    >
      {label}
    </a>
  );
  return (
    <div className="settings" data-testid="settings-page">
      <nav className="settings-nav" aria-label="Settings">
        <h2 className="settings-nav-title">Settings</h2>
        <div className="settings-nav-group">
          <h3 className="settings-nav-heading">Online chat</h3>
          {item('notifications', 'New message notification')}
          {item('hosting', 'Robot hosting')}
        </div>
        {canManageChannels && (
          <div className="settings-nav-group">
            <h3 className="settings-nav-heading">Channels</h3>
            {item('messenger', 'Messenger')}
          </div>
        )}
        <div className="settings-nav-group">
          <h3 className="settings-nav-heading">Organization</h3>
          {item('team', 'Team')}
        </div>
      </nav>
      <main className="settings-main">
        {section === 'messenger' ? (
          canManageChannels ? (
            <MessengerSettingsPanel
              key="messenger"
              api={api}
              projectId={membership.project.id}
              subscribeFrames={inbox?.controller.subscribeFrames}
              onUnauthenticated={onUnauthenticated}
            />
          ) : (
            <div className="settings-content">
              <div className="notice" data-testid="messenger-forbidden">
                Only members who can manage channels may connect and configure Messenger Pages.
              </div>
            </div>
          )
        ) : section === 'hosting' ? (
          <HostingSettingsPanel key="hosting" api={hostingApi} projectId={membership.project.id} canManage={canManage} onUnauthenticated={onUnauthenticated} />
        ) : section === 'team' ? (
          <TeamSettingsPanel
            key="team"
            api={api}
            projectId={membership.project.id}
            userId={me.user.id}
            permissions={membership.role.permissions}
            onUnauthenticated={onUnauthenticated}
          />
        ) : (
          <NotificationSettingsPanel
            key="notifications"
            api={api}
            projectId={membership.project.id}
            userEmail={me.user.email}
            canManage={canManage}
            onUnauthenticated={onUnauthenticated}
          />
        )}
      </main>
    </div>
  );
}
