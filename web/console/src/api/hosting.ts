// Robot hosting over REST (hosted = the bot answers): one session's switch, a selection, every
// assigned session in the caller's data scope, and the project's two hosting settings.
import type { Api } from './http';
import type { Session } from './types';

/** Answer of the batch and all-assigned switches. */
export interface HostingResult {
  changed: number;
  unchanged: number;
  ended: number;
}

/** GET/PATCH …/settings/hosting. */
export interface HostingSettings {
  /** A session opened from now on starts hosted. */
  new_sessions_hosted: boolean;
  /** An agent's reply in a hosted session switches hosting off. */
  agent_reply_hands_off: boolean;
}

export type HostingSettingsPatch = Partial<HostingSettings>;

/** The server takes at most this many ids in one batch. */
export const MAX_BATCH = 10_000;

export class HostingApi {
  constructor(private readonly api: Pick<Api, 'request'>) {}

  /** 409 `session_ended` for an ended session; the same state again is a no-op 200. */
  setHosting(projectId: number, sessionId: number, hosted: boolean): Promise<Session> {
    return this.api.request<Session>('PUT', `/api/projects/${projectId}/sessions/${sessionId}/hosting`, { hosted });
  }

  /** All or nothing: an id outside the caller's scope is a 404 and nothing changes. */
  setHostingBatch(projectId: number, sessionIds: readonly number[], hosted: boolean): Promise<HostingResult> {
    return this.api.request<HostingResult>('POST', `/api/projects/${projectId}/sessions/hosting`, { session_ids: sessionIds, hosted });
  }

  setHostingAllAssigned(projectId: number, hosted: boolean): Promise<HostingResult> {
    return this.api.request<HostingResult>('POST', `/api/projects/${projectId}/sessions/hosting/assigned`, { hosted });
  }

  hostingSettings(projectId: number): Promise<HostingSettings> {
    return this.api.request<HostingSettings>('GET', `/api/projects/${projectId}/settings/hosting`);
  }

  /** Needs `project.manage`. */
  updateHostingSettings(projectId: number, patch: HostingSettingsPatch): Promise<HostingSettings> {
    return this.api.request<HostingSettings>('PATCH', `/api/projects/${projectId}/settings/hosting`, patch);
  }
}
