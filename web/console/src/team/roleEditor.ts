// The "Edit permissions" screen of a role: checkbox state, data scope, and the PATCH (or
// POST) body they mean. Pure functions.
import { PERMISSIONS } from '../api/team';
import type { NewRole, PermissionName, ProjectRole, RolePatch } from '../api/team';
import type { DataScope } from '../api/types';

export const PERMISSION_LABELS: Record<PermissionName, { label: string; help: string }> = {
  'project.manage': { label: 'Manage project', help: 'Project settings and notifications; grant the owner role.' },
  'team.manage': { label: 'Manage team', help: 'Add and remove members, change their roles, edit roles.' },
  'channels.manage': { label: 'Manage channels', help: 'Create and configure channels.' },
  'automation.manage': { label: 'Manage automation', help: 'Bots and automatic replies; their data too.' },
  'automation.view': { label: 'View automation data', help: "The flows' figures, visitors and funnels (not the flows themselves)." },
  'contacts.manage': { label: 'Manage contacts', help: 'Edit any contact, also without a session in your scope.' },
  'session_tags.manage': { label: 'Manage session tags', help: 'Create, rename and delete session tags.' },
};

export const ROLE_NAME_MAX = 50;

export interface RoleForm {
  name: string;
  permissions: Readonly<Record<PermissionName, boolean>>;
  dataScope: DataScope;
}

export function formFromRole(r: Pick<ProjectRole, 'name' | 'permissions' | 'data_scope'>): RoleForm {
  const permissions = Object.fromEntries(PERMISSIONS.map((p) => [p, r.permissions.includes(p)])) as Record<PermissionName, boolean>;
  return { name: r.name, permissions, dataScope: r.data_scope };
}

export function emptyRoleForm(): RoleForm {
  return formFromRole({ name: '', permissions: [], data_scope: 'own' });
}

export function togglePermission(form: RoleForm, p: PermissionName, on: boolean): RoleForm {
  return { ...form, permissions: { ...form.permissions, [p]: on } };
}

/** Checked permissions in the server's canonical order. */
export function checkedPermissions(form: RoleForm): PermissionName[] {
  return PERMISSIONS.filter((p) => form.permissions[p]);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Whether the role may be edited at all (the owner role cannot). */
export function isOwnerRole(r: Pick<ProjectRole, 'builtin' | 'name'>): boolean {
  return r.builtin && r.name === 'owner';
}

export function validateName(name: string): string | null {
  const n = [...name.trim()].length;
  if (n === 0) return 'Give the role a name.';
  if (n > ROLE_NAME_MAX) return `A role name has at most ${ROLE_NAME_MAX} characters.`;
  return null;
}

export type PatchResult = { ok: true; patch: RolePatch } | { ok: false; error: string };

/** The PATCH body: only what changed (builtin roles keep their names). Empty when nothing did. */
export function rolePatch(role: ProjectRole, form: RoleForm): PatchResult {
  const patch: RolePatch = {};
  const name = form.name.trim();
  if (!role.builtin && name !== role.name) {
    const err = validateName(name);
    if (err) return { ok: false, error: err };
    patch.name = name;
  }
  const perms = checkedPermissions(form);
  if (!sameSet(perms, role.permissions)) patch.permissions = perms;
  if (form.dataScope !== role.data_scope) patch.data_scope = form.dataScope;
  return { ok: true, patch };
}

export function isEmptyPatch(p: RolePatch): boolean {
  return p.name === undefined && p.permissions === undefined && p.data_scope === undefined;
}

export type NewRoleResult = { ok: true; role: NewRole } | { ok: false; error: string };

export function newRoleBody(form: RoleForm): NewRoleResult {
  const err = validateName(form.name);
  if (err) return { ok: false, error: err };
  return { ok: true, role: { name: form.name.trim(), permissions: checkedPermissions(form), data_scope: form.dataScope } };
}

/** A permission the editor cannot grant or revoke: `project.manage` needs it yourself. */
export function permissionLocked(p: PermissionName, myPermissions: readonly string[]): boolean {
  return p === 'project.manage' && !myPermissions.includes('project.manage');
}
