import { describe, expect, it } from 'vitest';
import { makeRole } from '../testing/fakeReports';
import { PERMISSIONS } from '../api/team';
import { PERMISSION_LABELS, checkedPermissions, emptyRoleForm, formFromRole, isEmptyPatch, newRoleBody, permissionLocked, rolePatch, togglePermission } from './roleEditor';

describe('role editor', () => {
  const role = makeRole({ id: 7, name: 'supervisor', permissions: ['contacts.manage', 'team.manage'], data_scope: 'own' });

  it('starts from the role and sends only what changed, in canonical order', () => {
    let f = formFromRole(role);
    expect(f.permissions['team.manage']).toBe(true);
    expect(f.permissions['session_tags.manage']).toBe(false);
    expect(rolePatch(role, f)).toEqual({ ok: true, patch: {} });
    expect(isEmptyPatch({})).toBe(true);

    f = togglePermission(f, 'session_tags.manage', true);
    expect(rolePatch(role, f)).toEqual({ ok: true, patch: { permissions: ['team.manage', 'contacts.manage', 'session_tags.manage'] } });
    f = { ...f, dataScope: 'all' };
    expect(rolePatch(role, f)).toEqual({ ok: true, patch: { permissions: ['team.manage', 'contacts.manage', 'session_tags.manage'], data_scope: 'all' } });
    // Unchecking back to the saved set drops `permissions` from the body.
    f = togglePermission(f, 'session_tags.manage', false);
    expect(rolePatch(role, f)).toEqual({ ok: true, patch: { data_scope: 'all' } });
    // Unchecking everything is a real change: an empty list.
    const none = togglePermission(togglePermission(formFromRole(role), 'team.manage', false), 'contacts.manage', false);
    expect(rolePatch(role, none)).toEqual({ ok: true, patch: { permissions: [] } });
  });

  it('renames custom roles only, with a valid name', () => {
    expect(rolePatch(role, { ...formFromRole(role), name: ' lead ' })).toEqual({ ok: true, patch: { name: 'lead' } });
    expect(rolePatch(role, { ...formFromRole(role), name: '  ' })).toEqual({ ok: false, error: 'Give the role a name.' });
    const agent = makeRole({ id: 3, name: 'agent', builtin: true });
    expect(rolePatch(agent, { ...formFromRole(agent), name: 'renamed' })).toEqual({ ok: true, patch: {} });
  });

  it('builds a new role and locks project.manage for non-owners', () => {
    const f = togglePermission({ ...emptyRoleForm(), name: 'QA' }, 'contacts.manage', true);
    expect(checkedPermissions(f)).toEqual(['contacts.manage']);
    expect(newRoleBody(f)).toEqual({ ok: true, role: { name: 'QA', permissions: ['contacts.manage'], data_scope: 'own' } });
    expect(newRoleBody(emptyRoleForm()).ok).toBe(false);
    expect(newRoleBody({ ...emptyRoleForm(), name: 'x'.repeat(51) })).toEqual({ ok: false, error: 'A role name has at most 50 characters.' });
    expect(permissionLocked('project.manage', ['team.manage'])).toBe(true);
    expect(permissionLocked('project.manage', ['project.manage'])).toBe(false);
    expect(permissionLocked('team.manage', [])).toBe(false);
  });

  it('lists "View automation data" (automation.view) next to managing automation', () => {
    expect(PERMISSIONS.indexOf('automation.view')).toBe(PERMISSIONS.indexOf('automation.manage') + 1);
    expect(PERMISSION_LABELS['automation.view'].label).toBe('View automation data');
    const f = togglePermission({ ...emptyRoleForm(), name: 'Analyst' }, 'automation.view', true);
    expect(newRoleBody(f)).toEqual({ ok: true, role: { name: 'Analyst', permissions: ['automation.view'], data_scope: 'own' } });
  });
});
