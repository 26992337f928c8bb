import type { Me, ProjectMembership } from '../api/types';
import { initials } from '../lib/initials';
import type { ConnectionStatus } from '../realtime/agentSocket';
import { ConnectionPill } from './ConnectionStatus';

interface Props {
  me: Me;
  membership: ProjectMembership;
  connection: ConnectionStatus;
  onSwitchProject: (id: number) => void;
  onLogout: () => void;
}

export function TopBar({ me, membership, connection, onSwitchProject, onLogout }: Props) {
  const name = me.user.display_name || me.user.email;
  return (
    <header className="topbar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true" />
        Switchboard
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
