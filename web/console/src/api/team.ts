// Team permissions over REST: members and their roles, custom roles (src/http/team.rs,
// src/http/projects.rs). Uses the shared `Api.request`.
import type { Api } from './http';
import type { DataScope, Member, User } from './types';

/** Permission names, in the server's canonical order (domain/access.rs `Permission::ALL`). */
export const PERMISSIONS = ['project.manage', 'team.manage', 'channels.manage', 'automation.manage', 'automation.view', 'contacts.manage', 'session_tags.manage'] as const;
export type PermissionName = (typeof PERMISSIONS)[number];

/** A role of GET /api/projects/{pid}/roles. */
export interface ProjectRole {
  id: number;
  project_id: number;
  name: string;
  /** `owner`, `admin`, `agent`: cannot be renamed or deleted (owner cannot be edited). */
  builtin: boolean;
  permissions: string[];
  data_scope: DataScope;
}

/** POST …/members: the role is given by NAME (PATCH takes role_id). */
export interface NewMember {
  email: string;
  display_name: string;
  /** Required when the e-mail has no account yet. */
  password?: string;
  role: string;
}

export interface NewRole {
  name: string;
  permissions: string[];
  data_scope: DataScope;
}

/** PATCH …/roles/{rid}: only the fields that change. */
export interface RolePatch {
  name?: string;
  permissions?: string[];
  data_scope?: DataScope;
}

export class TeamApi {
  constructor(private readonly api: Pick<Api, 'request'>) {}

  members(projectId: number): Promise<Member[]> {
    return this.api.request<Member[]>('GET', `/api/projects/${projectId}/members`);
  }

  roles(projectId: number): Promise<ProjectRole[]> {
    return this.api.request<ProjectRole[]>('GET', `/api/projects/${projectId}/roles`);
  }

  /** 201 with the user (not the member row): reload the members after it. */
  addMember(projectId: number, m: NewMember): Promise<User> {
    return this.api.request<User>('POST', `/api/projects/${projectId}/members`, m);
  }

  /** 204; 409 `conflict` for the last owner. */
  setMemberRole(projectId: number, userId: number, roleId: number): Promise<void> {
    return this.api.request<void>('PATCH', `/api/projects/${projectId}/members/${userId}`, { role_id: roleId });
  }

  removeMember(projectId: number, userId: number): Promise<void> {
    return this.api.request<void>('DELETE', `/api/projects/${projectId}/members/${userId}`);
  }

  createRole(projectId: number, r: NewRole): Promise<ProjectRole> {
    return this.api.request<ProjectRole>('POST', `/api/projects/${projectId}/roles`, r);
  }

  updateRole(projectId: number, roleId: number, patch: RolePatch): Promise<ProjectRole> {
    return this.api.request<ProjectRole>('PATCH', `/api/projects/${projectId}/roles/${roleId}`, patch);
  }

  /** 204; 409 `conflict` while members hold it. */
  deleteRole(projectId: number, roleId: number): Promise<void> {
    return this.api.request<void>('DELETE', `/api/projects/${projectId}/roles/${roleId}`);
  }
}
