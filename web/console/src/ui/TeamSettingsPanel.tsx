// Settings › Team: the project's members with their roles, adding and removing members, and
// the roles with their permissions. Renders the TeamController's state; rules live in team/.
import { useEffect, useId, useState, useSyncExternalStore } from 'react';
import type { FormEvent } from 'react';
import type { Api } from '../api/http';
import { PERMISSIONS, TeamApi } from '../api/team';
import type { ProjectRole } from '../api/team';
import type { Member } from '../api/types';
import { fullTime } from '../lib/time';
import { isOwnerRole, PERMISSION_LABELS, permissionLocked, ROLE_NAME_MAX } from '../team/roleEditor';
import { TeamController } from '../team/teamController';
import type { TeamPort, TeamState } from '../team/teamController';

interface Props {
  api: Api | TeamPort;
  projectId: number;
  userId: number;
  permissions: readonly string[];
  onUnauthenticated: () => void;
}

function teamPort(api: Api | TeamPort): TeamPort {
  return 'roles' in api ? api : new TeamApi(api);
}

export function TeamSettingsPanel({ api, projectId, userId, permissions, onUnauthenticated }: Props) {
  const [controller] = useState(() => new TeamController({ api: teamPort(api), projectId, permissions, onUnauthenticated }));
  useEffect(() => {
    void controller.start();
    return () => controller.stop();
  }, [controller]);
  const state = useSyncExternalStore(controller.subscribe, controller.getState);
  const canManage = controller.canManage;

  return (
    <div className="settings-content" data-testid="team-page">
      <p className="breadcrumb">
        Organization <span aria-hidden="true">›</span> Team
      </p>
      <h1 className="settings-title">Team</h1>
      <p className="settings-lead">Who works in this project, and what each role may do. A member whose access changes reconnects at once with the new access.</p>
      {!canManage && (
        <div className="notice" data-testid="team-readonly">
          Only members who can manage the team may change members and roles.
        </div>
      )}
      {state.notice && (
        <div
          className={`notice team-notice ${state.notice.kind === 'error' ? 'notice-danger' : 'notice-ok'}`}
          role={state.notice.kind === 'error' ? 'alert' : 'status'}
          data-testid={state.notice.kind === 'error' ? 'team-error' : 'team-notice'}
        >
          <span>{state.notice.message}</span>
        </div>
      )}
      {state.load.kind === 'loading' && <p className="muted" aria-busy="true">Loading…</p>}
      {state.load.kind === 'error' && (
        <div className="notice notice-danger" role="alert" data-testid="team-load-error">
          <span>{state.load.message}</span>
          <button type="button" className="link" onClick={() => void controller.load()}>
            Try again
          </button>
        </div>
      )}
      {state.load.kind === 'ready' && (
        <>
          <Members controller={controller} state={state} userId={userId} />
          {canManage && <AddMember controller={controller} state={state} />}
          {state.editor ? <RoleEditor controller={controller} state={state} /> : <Roles controller={controller} state={state} />}
        </>
      )}
    </div>
  );
}

function Members({ controller, state, userId }: { controller: TeamController; state: TeamState; userId: number }) {
  return (
    <section className="settings-card settings-card-pad" aria-labelledby="team-members-title">
      <h2 className="setting-label" id="team-members-title">
        Members <span className="muted">({state.members.length})</span>
      </h2>
      <table className="team-table" data-testid="team-members">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">E-mail</th>
            <th scope="col">Role</th>
            <th scope="col">Joined</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {state.members.map((m) => (
            <MemberRow key={m.user_id} member={m} controller={controller} state={state} isMe={m.user_id === userId} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function MemberRow({ member: m, controller, state, isMe }: { member: Member; controller: TeamController; state: TeamState; isMe: boolean }) {
  const [confirming, setConfirming] = useState(false);
  const canManage = controller.canManage;
  const busy = state.busy === `member:${m.user_id}`;
  const mayOwner = controller.permissions.includes('project.manage');
  return (
    <tr className="team-row" data-testid="team-member-row" data-user-id={m.user_id}>
      <td>
        {m.display_name || <span className="muted">—</span>}
        {isMe && <span className="team-badge">you</span>}
      </td>
      <td className="team-email">{m.email}</td>
      <td>
        <select
          data-testid="team-role-select"
          aria-label={`Role of ${m.display_name || m.email}`}
          value={m.role_id}
          disabled={!canManage || state.busy !== null}
          onChange={(e) => void controller.setMemberRole(m.user_id, Number(e.target.value))}
        >
          {state.roles.map((r) => (
            <option key={r.id} value={r.id} disabled={isOwnerRole(r) && !mayOwner && r.id !== m.role_id}>
              {r.name}
            </option>
          ))}
        </select>
      </td>
      <td className="team-joined">
        <time dateTime={m.joined_at}>{fullTime(m.joined_at)}</time>
      </td>
      <td className="team-actions">
        {canManage &&
          (confirming ? (
            <span className="team-confirm">
              <button
                type="button"
                className="btn btn-sm btn-danger-outline"
                data-testid="team-remove"
                data-confirm="true"
                title="Their chats that are still open go back to the Unassigned queue."
                disabled={state.busy !== null}
                onClick={() => {
                  setConfirming(false);
                  void controller.removeMember(m.user_id);
                }}
              >
                {isMe ? 'Leave project' : 'Confirm remove'}
              </button>
              <button type="button" className="btn btn-sm btn-ghost" data-testid="team-remove-cancel" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </span>
          ) : (
            <button type="button" className="btn btn-sm btn-ghost" data-testid="team-remove" disabled={state.busy !== null} onClick={() => setConfirming(true)}>
              {busy ? 'Working…' : 'Remove'}
            </button>
          ))}
      </td>
    </tr>
  );
}

function AddMember({ controller, state }: { controller: TeamController; state: TeamState }) {
  const id = useId();
  const a = state.add;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void controller.addMember();
  };
  const mayOwner = controller.permissions.includes('project.manage');
  return (
    <section className="settings-card settings-card-pad" aria-labelledby={`${id}-title`}>
      <h2 className="setting-label" id={`${id}-title`}>
        Add a member
      </h2>
      <p className="setting-help">An existing account joins with the chosen role; for a new e-mail address give a password to create the account.</p>
      <form className="team-add" onSubmit={submit} noValidate>
        <label className="team-field">
          <span>E-mail</span>
          <input type="email" data-testid="team-add-email" autoComplete="off" value={a.email} onChange={(e) => controller.editAdd({ email: e.target.value })} />
        </label>
        <label className="team-field">
          <span>Name</span>
          <input type="text" data-testid="team-add-name" autoComplete="off" value={a.name} onChange={(e) => controller.editAdd({ name: e.target.value })} />
        </label>
        <label className="team-field">
          <span>Password (new accounts)</span>
          <input type="password" data-testid="team-add-password" autoComplete="new-password" value={a.password} onChange={(e) => controller.editAdd({ password: e.target.value })} />
        </label>
        <label className="team-field">
          <span>Role</span>
          <select data-testid="team-add-role" value={a.role} onChange={(e) => controller.editAdd({ role: e.target.value })}>
            {state.roles.map((r) => (
              <option key={r.id} value={r.name} disabled={isOwnerRole(r) && !mayOwner}>
                {r.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="btn btn-primary" data-testid="team-add-submit" disabled={state.busy !== null}>
          {state.busy === 'add' ? 'Adding…' : 'Add member'}
        </button>
      </form>
    </section>
  );
}

function permissionSummary(r: ProjectRole): string {
  if (r.permissions.length === 0) return 'Chat only';
  return r.permissions.map((p) => PERMISSION_LABELS[p as keyof typeof PERMISSION_LABELS]?.label ?? p).join(', ');
}

function Roles({ controller, state }: { controller: TeamController; state: TeamState }) {
  const canManage = controller.canManage;
  return (
    <section className="settings-card settings-card-pad" aria-labelledby="team-roles-title">
      <div className="section-head">
        <div>
          <h2 className="setting-label" id="team-roles-title">
            Roles
          </h2>
          <p className="setting-help">Permissions and data scope of each role. The owner role has every permission and cannot be changed.</p>
        </div>
        {canManage && (
          <button type="button" className="btn btn-sm" data-testid="role-new" onClick={() => controller.newRole()}>
            New role
          </button>
        )}
      </div>
      <ul className="role-list">
        {state.roles.map((r) => {
          const holders = controller.holders(r.id);
          return (
            <li key={r.id} className="role-item" data-testid="role-row" data-role-id={r.id}>
              <div className="role-main">
                <span className="role-name">
                  {r.name}
                  {r.builtin && <span className="team-badge">built-in</span>}
                </span>
                <span className="role-perms">{permissionSummary(r)}</span>
                <span className="role-meta muted">
                  {r.data_scope === 'all' ? 'All sessions' : 'Own sessions'} · {holders === 1 ? '1 member' : `${holders} members`}
                </span>
              </div>
              <div className="role-actions">
                {!isOwnerRole(r) && (
                  <button type="button" className="btn btn-sm" data-testid="role-edit" onClick={() => controller.openRole(r.id)}>
                    {canManage ? 'Edit permissions' : 'View permissions'}
                  </button>
                )}
                {canManage && !r.builtin && (
                  <button
                    type="button"
                    className="btn btn-sm btn-ghost"
                    data-testid="role-delete"
                    disabled={state.busy !== null}
                    title={holders > 0 ? 'Give its members another role first' : undefined}
                    onClick={() => void controller.deleteRole(r.id)}
                  >
                    Delete
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function RoleEditor({ controller, state }: { controller: TeamController; state: TeamState }) {
  const id = useId();
  const e = state.editor!;
  const role = e.mode === 'edit' ? state.roles.find((r) => r.id === e.roleId) : undefined;
  const canManage = controller.canManage;
  const disabled = !canManage || e.saving;
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    void controller.saveRole();
  };
  return (
    <section className="settings-card settings-card-pad" data-testid="role-editor" aria-labelledby={`${id}-title`}>
      <h2 className="setting-label" id={`${id}-title`}>
        {e.mode === 'new' ? 'New role' : `Permissions of ${role?.name ?? 'role'}`}
      </h2>
      <form onSubmit={submit} noValidate className="role-form">
        <label className="team-field">
          <span>Name</span>
          <input
            type="text"
            data-testid="role-name"
            maxLength={ROLE_NAME_MAX}
            value={e.form.name}
            disabled={disabled || !!role?.builtin}
            title={role?.builtin ? 'Built-in roles keep their names' : undefined}
            onChange={(ev) => controller.setRoleName(ev.target.value)}
          />
        </label>
        <fieldset className="perm-group">
          <legend>Permissions</legend>
          {PERMISSIONS.map((p) => {
            const locked = permissionLocked(p, controller.permissions);
            return (
              <label key={p} className="perm-item">
                <input
                  type="checkbox"
                  data-testid={`perm-${p}`}
                  checked={e.form.permissions[p]}
                  disabled={disabled || locked}
                  onChange={(ev) => controller.setPermission(p, ev.target.checked)}
                />
                <span className="perm-text">
                  <span className="perm-label">{PERMISSION_LABELS[p].label}</span>
                  <span className="perm-help">
                    {PERMISSION_LABELS[p].help}
                    {locked && ' Only members who can manage the project may grant or revoke it.'}
                  </span>
                </span>
              </label>
            );
          })}
        </fieldset>
        <fieldset className="perm-group">
          <legend>Data scope</legend>
          <label className="perm-item">
            <input type="radio" name={`${id}-scope`} data-testid="scope-own" checked={e.form.dataScope === 'own'} disabled={disabled} onChange={() => controller.setScope('own')} />
            <span className="perm-text">
              <span className="perm-label">Own sessions</span>
              <span className="perm-help">Sessions assigned to the member, plus the unassigned queue.</span>
            </span>
          </label>
          <label className="perm-item">
            <input type="radio" name={`${id}-scope`} data-testid="scope-all" checked={e.form.dataScope === 'all'} disabled={disabled} onChange={() => controller.setScope('all')} />
            <span className="perm-text">
              <span className="perm-label">All sessions</span>
              <span className="perm-help">Every session of the project.</span>
            </span>
          </label>
        </fieldset>
        {e.error && (
          <p className="inline-error" role="alert" data-testid="role-error">
            {e.error}
          </p>
        )}
        <div className="role-form-footer">
          <button type="button" className="btn" data-testid="role-cancel" onClick={() => controller.closeEditor()}>
            {canManage ? 'Cancel' : 'Back'}
          </button>
          {canManage && (
            <button type="submit" className="btn btn-primary" data-testid="role-save" disabled={e.saving}>
              {e.saving ? 'Saving…' : e.mode === 'new' ? 'Create role' : 'Save'}
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
