// State and side effects of Settings › Team: members with their roles, adding and removing
// members, and the roles with their "Edit permissions" screen. Every change goes to the server
// and the lists are read back, so what is shown is what the server holds; its refusals (the
// last owner, a role in use, a missing permission) are shown as they come.
import { ApiError, authLost } from '../api/http';
import type { ProjectRole, TeamApi } from '../api/team';
import type { Member } from '../api/types';
import { emptyRoleForm, formFromRole, isEmptyPatch, isOwnerRole, newRoleBody, rolePatch, togglePermission } from './roleEditor';
import type { RoleForm } from './roleEditor';
import type { PermissionName } from '../api/team';
import type { DataScope } from '../api/types';
import { PatchStore } from '../lib/store';

export type TeamPort = Pick<TeamApi, 'members' | 'roles' | 'addMember' | 'setMemberRole' | 'removeMember' | 'createRole' | 'updateRole' | 'deleteRole'>;

export interface AddForm {
  email: string;
  name: string;
  password: string;
  /** A role NAME (POST …/members takes names). */
  role: string;
}

export type Editor = { mode: 'edit'; roleId: number; form: RoleForm; saving: boolean; error: string | null } | { mode: 'new'; form: RoleForm; saving: boolean; error: string | null };

export interface TeamState {
  load: { kind: 'loading' | 'ready' } | { kind: 'error'; message: string };
  members: Member[];
  roles: ProjectRole[];
  /** A member or role being changed (`member:3`, `role:5`, `add`). */
  busy: string | null;
  /** The outcome of the last change. */
  notice: { kind: 'ok' | 'error'; message: string } | null;
  add: AddForm;
  editor: Editor | null;
}

export interface TeamControllerOptions {
  api: TeamPort;
  projectId: number;
  /** The signed-in member's permissions in this project. */
  permissions: readonly string[];
  onUnauthenticated?: () => void;
}

const EMPTY_ADD: AddForm = { email: '', name: '', password: '', role: 'agent' };

export function teamErrorText(err: unknown, fallback: string): string {
  if (err instanceof ApiError) {
    if (err.code === 'network') return err.message;
    return err.message || fallback;
  }
  return fallback;
}

const INITIAL_TEAM: TeamState = { load: { kind: 'loading' }, members: [], roles: [], busy: null, notice: null, add: EMPTY_ADD, editor: null };

export class TeamController extends PatchStore<TeamState> {
  constructor(private readonly opts: TeamControllerOptions) {
    super(INITIAL_TEAM);
  }

  get canManage(): boolean {
    return this.opts.permissions.includes('team.manage');
  }

  get permissions(): readonly string[] {
    return this.opts.permissions;
  }


  async start(): Promise<void> {
    this.stopped = false;
    await this.load();
  }

  stop(): void {
    this.stopped = true;
  }

  async load(): Promise<void> {
    if (this.state.load.kind !== 'ready') this.set({ load: { kind: 'loading' } });
    try {
      const [members, roles] = await Promise.all([this.opts.api.members(this.opts.projectId), this.opts.api.roles(this.opts.projectId)]);
      const add = roles.some((r) => r.name === this.state.add.role) ? this.state.add : { ...this.state.add, role: roles.find((r) => !isOwnerRole(r))?.name ?? '' };
      this.set({ load: { kind: 'ready' }, members, roles, add });
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return;
      this.set({ load: { kind: 'error', message: teamErrorText(err, 'Could not load the team.') } });
    }
  }

  /** Runs one change, then reads the lists back; shows the server's refusal if any. */
  private async change(busy: string, run: () => Promise<unknown>, ok: string, failed: string): Promise<boolean> {
    if (!this.canManage || this.state.busy) return false;
    this.set({ busy, notice: null });
    try {
      await run();
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return false;
      this.set({ busy: null, notice: { kind: 'error', message: `${failed}: ${teamErrorText(err, 'the server refused the change')}` } });
      return false;
    }
    await this.load();
    this.set({ busy: null, notice: { kind: 'ok', message: ok } });
    return true;
  }

  roleName(roleId: number): string {
    return this.state.roles.find((r) => r.id === roleId)?.name ?? `Role #${roleId}`;
  }

  memberName(userId: number): string {
    const m = this.state.members.find((x) => x.user_id === userId);
    return m ? m.display_name || m.email : `User #${userId}`;
  }

  setMemberRole(userId: number, roleId: number): Promise<boolean> {
    const m = this.state.members.find((x) => x.user_id === userId);
    if (!m || m.role_id === roleId) return Promise.resolve(false);
    return this.change(`member:${userId}`, () => this.opts.api.setMemberRole(this.opts.projectId, userId, roleId), `${this.memberName(userId)} is now ${this.roleName(roleId)}.`, `Could not change the role of ${this.memberName(userId)}`);
  }

  removeMember(userId: number): Promise<boolean> {
    const name = this.memberName(userId);
    return this.change(`member:${userId}`, () => this.opts.api.removeMember(this.opts.projectId, userId), `${name} was removed from the project.`, `Could not remove ${name}`);
  }

  editAdd(change: Partial<AddForm>): void {
    this.set({ add: { ...this.state.add, ...change } });
  }

  async addMember(): Promise<boolean> {
    const a = this.state.add;
    const email = a.email.trim();
    if (!email || !email.includes('@')) {
      this.set({ notice: { kind: 'error', message: 'Enter the new member’s e-mail address.' } });
      return false;
    }
    if (!a.role) {
      this.set({ notice: { kind: 'error', message: 'Choose a role.' } });
      return false;
    }
    const body = { email, display_name: a.name.trim(), role: a.role, ...(a.password ? { password: a.password } : {}) };
    const done = await this.change('add', () => this.opts.api.addMember(this.opts.projectId, body), `${body.display_name || email} was added as ${a.role}.`, `Could not add ${email}`);
    if (done) this.set({ add: { ...EMPTY_ADD, role: a.role } });
    return done;
  }

  // --- roles ---

  openRole(roleId: number): void {
    const r = this.state.roles.find((x) => x.id === roleId);
    if (!r) return;
    this.set({ editor: { mode: 'edit', roleId, form: formFromRole(r), saving: false, error: null }, notice: null });
  }

  newRole(): void {
    this.set({ editor: { mode: 'new', form: emptyRoleForm(), saving: false, error: null }, notice: null });
  }

  closeEditor(): void {
    this.set({ editor: null });
  }

  private editForm(f: (form: RoleForm) => RoleForm): void {
    const e = this.state.editor;
    if (!e || e.saving) return;
    this.set({ editor: { ...e, form: f(e.form), error: null } });
  }

  setRoleName(name: string): void {
    this.editForm((f) => ({ ...f, name }));
  }

  setPermission(p: PermissionName, on: boolean): void {
    this.editForm((f) => togglePermission(f, p, on));
  }

  setScope(scope: DataScope): void {
    this.editForm((f) => ({ ...f, dataScope: scope }));
  }

  async saveRole(): Promise<boolean> {
    const e = this.state.editor;
    if (!e || e.saving || !this.canManage) return false;
    const fail = (error: string) => {
      this.set({ editor: { ...e, saving: false, error } });
      return false;
    };
    let run: () => Promise<unknown>;
    let ok: string;
    if (e.mode === 'edit') {
      const role = this.state.roles.find((r) => r.id === e.roleId);
      if (!role) return fail('This role no longer exists.');
      const p = rolePatch(role, e.form);
      if (!p.ok) return fail(p.error);
      if (isEmptyPatch(p.patch)) {
        this.set({ editor: null });
        return true;
      }
      run = () => this.opts.api.updateRole(this.opts.projectId, role.id, p.patch);
      ok = `Role ${p.patch.name ?? role.name} saved. Its members reconnect with the new access.`;
    } else {
      const b = newRoleBody(e.form);
      if (!b.ok) return fail(b.error);
      run = () => this.opts.api.createRole(this.opts.projectId, b.role);
      ok = `Role ${b.role.name} created.`;
    }
    this.set({ editor: { ...e, saving: true, error: null } });
    try {
      await run();
    } catch (err) {
      if (authLost(err, this.opts.onUnauthenticated)) return false;
      return fail(teamErrorText(err, 'Could not save the role.'));
    }
    this.set({ editor: null });
    await this.load();
    this.set({ notice: { kind: 'ok', message: ok } });
    return true;
  }

  deleteRole(roleId: number): Promise<boolean> {
    const name = this.roleName(roleId);
    return this.change(`role:${roleId}`, () => this.opts.api.deleteRole(this.opts.projectId, roleId), `Role ${name} deleted.`, `Could not delete the role ${name}`).then((done) => {
      if (done && this.state.editor?.mode === 'edit' && this.state.editor.roleId === roleId) this.set({ editor: null });
      return done;
    });
  }

  /** How many members hold a role. */
  holders(roleId: number): number {
    return this.state.members.filter((m) => m.role_id === roleId).length;
  }
}
