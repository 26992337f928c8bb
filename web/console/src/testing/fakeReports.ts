// Test doubles for session management and the team page: in-memory APIs recording calls.
import { ApiError } from '../api/http';
import { reportQuery } from '../api/reports';
import type { ChannelInfo, RecordPage, ReportFilter, ReportSummary, SessionRecord } from '../api/reports';
import type { NewMember, NewRole, ProjectRole, RolePatch } from '../api/team';
import type { Member, User } from '../api/types';
import type { SessionsApi } from '../reports/sessionsController';
import type { TeamPort } from '../team/teamController';

export function makeRecord(over: Partial<SessionRecord> & { id: number }): SessionRecord {
  return {
    contact: { id: over.id * 10, name: `Visitor ${over.id}`, note_name: null, phone: null, email: null },
    channel: { id: 1, name: 'Website', kind: 'web' },
    status: 'assigned',
    receptionist: { id: 1, display_name: 'Owner' },
    created_at: '2026-11-24T10:00:00Z',
    received_at: '2026-11-24T10:01:00Z',
    ended_at: null,
    messages: { total: 3, visitor: 2, agent: 1 },
    first_response_secs: 42.318,
    ...over,
  };
}

export class FakeReportsApi implements SessionsApi {
  records_: SessionRecord[] = [];
  summary_: ReportSummary = { ongoing: 0, ended: 0, total: 0 };
  channels_: ChannelInfo[] = [{ id: 1, kind: 'web', name: 'Website' }];
  calls: string[] = [];
  failNext: ApiError | null = null;

  private check(): void {
    const e = this.failNext;
    if (e) {
      this.failNext = null;
      throw e;
    }
  }

  async records(_pid: number, f: ReportFilter, page: { cursor?: string | null; limit?: number } = {}): Promise<RecordPage> {
    this.calls.push(`records ${reportQuery(f, page)}`);
    this.check();
    const items = this.records_.filter((r) => (f.status === 'ended' ? r.status === 'ended' : f.status === 'ongoing' ? r.status !== 'ended' : true));
    return { items: items.map((r) => ({ ...r, messages: { ...r.messages }, contact: { ...r.contact } })), next_cursor: null };
  }

  async summary(_pid: number, f: ReportFilter): Promise<ReportSummary> {
    this.calls.push(`summary ${reportQuery(f)}`);
    this.check();
    return { ...this.summary_ };
  }

  async channels(): Promise<ChannelInfo[]> {
    return this.channels_;
  }
}

export function makeRole(over: Partial<ProjectRole> & { id: number; name: string }): ProjectRole {
  return { project_id: 1, builtin: false, permissions: [], data_scope: 'all', ...over };
}

export const BUILTIN_ROLES: ProjectRole[] = [
  makeRole({ id: 1, name: 'owner', builtin: true, permissions: ['project.manage', 'team.manage', 'channels.manage', 'automation.manage', 'contacts.manage', 'session_tags.manage'] }),
  makeRole({ id: 2, name: 'admin', builtin: true, permissions: ['team.manage', 'channels.manage', 'automation.manage', 'contacts.manage', 'session_tags.manage'] }),
  makeRole({ id: 3, name: 'agent', builtin: true }),
];

/** A tiny server: members and roles with the last-owner and role-in-use rules. */
export class FakeTeamApi implements TeamPort {
  roles_: ProjectRole[] = BUILTIN_ROLES.map((r) => ({ ...r }));
  members_: Member[] = [{ user_id: 1, email: 'owner@example.com', display_name: 'Owner', role_id: 1, role_name: 'owner', joined_at: '2026-11-01T09:00:00Z' }];
  calls: string[] = [];
  private nextUser = 10;
  private nextRole = 10;

  async members(): Promise<Member[]> {
    return this.members_.map((m) => ({ ...m }));
  }
  async roles(): Promise<ProjectRole[]> {
    return this.roles_.map((r) => ({ ...r, permissions: [...r.permissions] }));
  }
  async addMember(_pid: number, m: NewMember): Promise<User> {
    this.calls.push(`add ${JSON.stringify(m)}`);
    const role = this.roles_.find((r) => r.name === m.role);
    if (!role) throw new ApiError(400, 'validation', `no role ${m.role}`);
    const id = this.nextUser++;
    this.members_.push({ user_id: id, email: m.email, display_name: m.display_name, role_id: role.id, role_name: role.name, joined_at: '2026-11-24T10:00:00Z' });
    return { id, email: m.email, display_name: m.display_name };
  }
  async setMemberRole(_pid: number, uid: number, roleId: number): Promise<void> {
    this.calls.push(`patch member ${uid} ${JSON.stringify({ role_id: roleId })}`);
    const m = this.members_.find((x) => x.user_id === uid)!;
    if (m.role_id === 1 && roleId !== 1 && this.members_.filter((x) => x.role_id === 1).length <= 1) {
      throw new ApiError(409, 'conflict', "the project's last owner cannot be demoted");
    }
    m.role_id = roleId;
    m.role_name = this.roles_.find((r) => r.id === roleId)!.name;
  }
  async removeMember(_pid: number, uid: number): Promise<void> {
    this.calls.push(`remove ${uid}`);
    const m = this.members_.find((x) => x.user_id === uid)!;
    if (m.role_id === 1 && this.members_.filter((x) => x.role_id === 1).length <= 1) {
      throw new ApiError(409, 'conflict', "the project's last owner cannot be removed");
    }
    this.members_ = this.members_.filter((x) => x.user_id !== uid);
  }
  async createRole(_pid: number, r: NewRole): Promise<ProjectRole> {
    this.calls.push(`create role ${JSON.stringify(r)}`);
    const role = makeRole({ id: this.nextRole++, ...r });
    this.roles_.push(role);
    return role;
  }
  async updateRole(_pid: number, rid: number, patch: RolePatch): Promise<ProjectRole> {
    this.calls.push(`patch role ${rid} ${JSON.stringify(patch)}`);
    const i = this.roles_.findIndex((r) => r.id === rid);
    this.roles_[i] = { ...this.roles_[i], ...patch };
    return this.roles_[i];
  }
  async deleteRole(_pid: number, rid: number): Promise<void> {
    this.calls.push(`delete role ${rid}`);
    if (this.members_.some((m) => m.role_id === rid)) throw new ApiError(409, 'conflict', 'the role is in use: give its members another role first');
    this.roles_ = this.roles_.filter((r) => r.id !== rid);
  }
}
