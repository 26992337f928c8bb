// An in-memory robot-hosting server: switches sessions of a FakeApi and records the calls.
import { ApiError } from '../api/http';
import type { HostingResult, HostingSettings, HostingSettingsPatch } from '../api/hosting';
import type { Session } from '../api/types';
import type { InboxHostingApi } from '../inbox/inboxController';
import type { HostingSettingsApi } from '../hosting/hostingSettingsController';
import type { FakeApi } from './fakeApi';

export class FakeHostingApi implements InboxHostingApi, HostingSettingsApi {
  calls: string[] = [];
  settings: HostingSettings = { new_sessions_hosted: false, agent_reply_hands_off: true };
  /** Thrown by the next call (then cleared). */
  failNext: ApiError | null = null;

  constructor(private readonly server?: FakeApi) {}

  private check(): void {
    const e = this.failNext;
    this.failNext = null;
    if (e) throw e;
  }

  private switchOne(s: Session, hosted: boolean): 'changed' | 'unchanged' | 'ended' {
    if (s.status === 'ended') return 'ended';
    if (s.bot_hosted === hosted) return 'unchanged';
    this.server!.sessionsById.set(s.id, { ...s, bot_hosted: hosted });
    return 'changed';
  }

  async setHosting(_pid: number, sid: number, hosted: boolean): Promise<Session> {
    this.calls.push(`put ${sid} ${hosted}`);
    this.check();
    const s = this.server?.sessionsById.get(sid);
    if (!s) throw new ApiError(404, 'not_found', 'no such session');
    if (this.switchOne(s, hosted) === 'ended') throw new ApiError(409, 'session_ended', 'the session has ended');
    return this.server!.sessionsById.get(sid)!;
  }

  async setHostingBatch(_pid: number, ids: readonly number[], hosted: boolean): Promise<HostingResult> {
    this.calls.push(`batch [${ids.join(',')}] ${hosted}`);
    this.check();
    const r: HostingResult = { changed: 0, unchanged: 0, ended: 0 };
    for (const id of ids) {
      const s = this.server?.sessionsById.get(id);
      if (!s) throw new ApiError(404, 'not_found', `session ${id} not found`);
    }
    for (const id of ids) r[this.switchOne(this.server!.sessionsById.get(id)!, hosted)] += 1;
    return r;
  }

  async setHostingAllAssigned(_pid: number, hosted: boolean): Promise<HostingResult> {
    this.calls.push(`assigned ${hosted}`);
    this.check();
    const r: HostingResult = { changed: 0, unchanged: 0, ended: 0 };
    for (const s of this.server?.sessionsById.values() ?? []) if (s.status === 'assigned') r[this.switchOne(s, hosted)] += 1;
    return r;
  }

  async hostingSettings(pid: number): Promise<HostingSettings> {
    this.calls.push(`get ${pid}`);
    this.check();
    return { ...this.settings };
  }

  async updateHostingSettings(pid: number, patch: HostingSettingsPatch): Promise<HostingSettings> {
    this.calls.push(`patch ${pid} ${JSON.stringify(patch)}`);
    this.check();
    this.settings = { ...this.settings, ...patch };
    return { ...this.settings };
  }
}
