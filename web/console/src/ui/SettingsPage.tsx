// The settings area: a section list on the left, the chosen page on the right. One page so
// far, "Online chat › New message notification".
import type { Api } from '../api/http';
import type { Me, ProjectMembership } from '../api/types';
import { NotificationSettingsPanel } from './NotificationSettingsPanel';

export const MANAGE_PROJECT = 'project.manage';

interface Props {
  api: Api;
  me: Me;
  membership: ProjectMembership;
  onUnauthenticated: () => void;
}

export function SettingsPage({ api, me, membership, onUnauthenticated }: Props) {
  const canManage = membership.role.permissions.includes(MANAGE_PROJECT);
  return (
    <div className="settings" data-testid="settings-page">
      <nav className="settings-nav" aria-label="Settings">
        <h2 className="settings-nav-title">Settings</h2>
        <div className="settings-nav-group">
          <h3 className="settings-nav-heading">Online chat</h3>
          <a className="settings-nav-item settings-nav-item-active" aria-current="page" href="/settings/notifications">
            New message notification
          </a>
        </div>
      </nav>
      <main className="settings-main">
        <NotificationSettingsPanel
          api={api}
          projectId={membership.project.id}
          userEmail={me.user.email}
          canManage={canManage}
          onUnauthenticated={onUnauthenticated}
        />
      </main>
    </div>
  );
}
