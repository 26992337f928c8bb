// Thin REST client. Same origin, cookie auth (the server sets the HttpOnly `sb_session` cookie
// on login), JSON both ways, errors turned into `ApiError` with the server's stable code.
import type { Me, Member, MessagePage, NotificationPatch, NotificationSettings, OutboxPage, OutboxRow, OutboxState, Session, SessionPage } from './types';

/**
 * Whether `err` means the session cookie is gone (401); if so `onUnauthenticated` runs, and the
 * app goes back to the login page. Every controller's error path asks this first.
 */
export function authLost(err: unknown, onUnauthenticated?: () => void): boolean {
  if (err instanceof ApiError && err.isUnauthenticated) {
    onUnauthenticated?.();
    return true;
  }
  return false;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The error body's `details` (e.g. `{problems: [...]}` of `invalid_flow`). */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get isUnauthenticated(): boolean {
    return this.status === 401;
  }
}

type Fetch = typeof fetch;

/** Query for GET /api/projects/{pid}/sessions. */
export interface SessionQuery {
  status?: 'unassigned' | 'assigned' | 'ended' | 'open';
  assignee?: 'me' | number;
  limit?: number;
  cursor?: string | null;
}

export class Api {
  constructor(private readonly fetchFn: Fetch = (...args) => fetch(...args)) {}

  /** Shared with the other api/ modules (api/contacts.ts). */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchFn(path, {
        method,
        credentials: 'same-origin',
        headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'network', 'The server cannot be reached.');
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown = null;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
      throw new ApiError(res.status, err?.code ?? 'http_' + res.status, err?.message ?? res.statusText ?? 'Request failed', err?.details);
    }
    return json as T;
  }

  login(email: string, password: string): Promise<Me> {
    return this.request<Me>('POST', '/api/auth/login', { email, password });
  }

  logout(): Promise<void> {
    return this.request<void>('POST', '/api/auth/logout');
  }

  me(): Promise<Me> {
    return this.request<Me>('GET', '/api/me');
  }

  sessions(projectId: number, q: SessionQuery): Promise<SessionPage> {
    const params = new URLSearchParams();
    if (q.status) params.set('status', q.status);
    if (q.assignee !== undefined) params.set('assignee', String(q.assignee));
    if (q.limit !== undefined) params.set('limit', String(q.limit));
    if (q.cursor) params.set('cursor', q.cursor);
    return this.request<SessionPage>('GET', `/api/projects/${projectId}/sessions?${params}`);
  }

  session(projectId: number, sessionId: number): Promise<Session> {
    return this.request<Session>('GET', `/api/projects/${projectId}/sessions/${sessionId}`);
  }

  /** Messages oldest first: the `limit` just before `beforeSeq`, or all after `afterSeq`. */
  messages(projectId: number, sessionId: number, q: { beforeSeq: number; limit: number } | { afterSeq: number; limit?: number }): Promise<MessagePage> {
    const params = new URLSearchParams();
    if ('beforeSeq' in q) params.set('before_seq', String(q.beforeSeq));
    else params.set('after_seq', String(q.afterSeq));
    if (q.limit !== undefined) params.set('limit', String(q.limit));
    return this.request<MessagePage>('GET', `/api/projects/${projectId}/sessions/${sessionId}/messages?${params}`);
  }

  take(projectId: number, sessionId: number): Promise<Session> {
    return this.request<Session>('POST', `/api/projects/${projectId}/sessions/${sessionId}/take`);
  }

  assign(projectId: number, sessionId: number, userId: number | null): Promise<Session> {
    return this.request<Session>('POST', `/api/projects/${projectId}/sessions/${sessionId}/assign`, { user_id: userId });
  }

  end(projectId: number, sessionId: number): Promise<Session> {
    return this.request<Session>('POST', `/api/projects/${projectId}/sessions/${sessionId}/end`);
  }

  members(projectId: number): Promise<Member[]> {
    return this.request<Member[]>('GET', `/api/projects/${projectId}/members`);
  }

  notificationSettings(projectId: number): Promise<NotificationSettings> {
    return this.request<NotificationSettings>('GET', `/api/projects/${projectId}/settings/notifications`);
  }

  /** Needs `project.manage`; all or nothing (`validation` changes nothing). */
  updateNotificationSettings(projectId: number, patch: NotificationPatch): Promise<NotificationSettings> {
    return this.request<NotificationSettings>('PATCH', `/api/projects/${projectId}/settings/notifications`, patch);
  }

  /** Queues a test e-mail to the caller (202 with its outbox row; 409 `email_not_configured`). */
  sendTestEmail(projectId: number): Promise<OutboxRow> {
    return this.request<OutboxRow>('POST', `/api/projects/${projectId}/email/test`);
  }

  outboxRow(projectId: number, id: number): Promise<OutboxRow> {
    return this.request<OutboxRow>('GET', `/api/projects/${projectId}/email/outbox/${id}`);
  }

  /** The project's e-mails, newest first. */
  outbox(projectId: number, q: { state?: OutboxState; limit?: number } = {}): Promise<OutboxPage> {
    const params = new URLSearchParams();
    if (q.state) params.set('state', q.state);
    if (q.limit !== undefined) params.set('limit', String(q.limit));
    return this.request<OutboxPage>('GET', `/api/projects/${projectId}/email/outbox?${params}`);
  }
}
