// An in-memory stand-in for the REST API, recording the calls it gets.
import { ApiError } from '../api/http';
import type { SessionQuery } from '../api/http';
import type { Message, NotificationPatch, NotificationSettings, OutboxPage, OutboxRow, Session, SessionPage } from '../api/types';
import type { InboxApi } from '../inbox/inboxController';
import type { NotificationsApi } from '../settings/notificationsController';

/** An in-memory server: sessions, messages, and a log of the REST calls made. */
export class FakeApi implements InboxApi {
  sessionsById = new Map<number, Session>();
  messagesById = new Map<number, Message[]>();
  calls: string[] = [];
  failWith: ApiError | null = null;

  put(s: Session, msgs: Message[] = []): void {
    this.sessionsById.set(s.id, s);
    this.messagesById.set(s.id, msgs);
  }

  private check(): void {
    if (this.failWith) throw this.failWith;
  }

  async sessions(_pid: number, q: SessionQuery): Promise<SessionPage> {
    this.calls.push(`sessions ${q.status}${q.assignee ? ' ' + q.assignee : ''} limit=${q.limit}`);
    this.check();
    const items = [...this.sessionsById.values()].filter((s) => {
      if (q.status === 'open') return s.status !== 'ended';
      if (q.status && s.status !== q.status) return false;
      if (q.assignee === 'me') return s.assignee_id === 1;
      return true;
    });
    return { items, next_cursor: null };
  }

  async session(_pid: number, sid: number): Promise<Session> {
    this.calls.push(`session ${sid}`);
    this.check();
    const s = this.sessionsById.get(sid);
    if (!s) throw new ApiError(404, 'not_found', 'no such session');
    return s;
  }

  async messages(_pid: number, sid: number, q: { beforeSeq: number; limit: number } | { afterSeq: number; limit?: number }): Promise<{ items: Message[] }> {
    const all = this.messagesById.get(sid) ?? [];
    if ('beforeSeq' in q) {
      this.calls.push(`messages ${sid} before=${q.beforeSeq} limit=${q.limit}`);
      const older = all.filter((m) => m.seq < q.beforeSeq);
      return { items: older.slice(Math.max(0, older.length - q.limit)) };
    }
    this.calls.push(`messages ${sid} after=${q.afterSeq}`);
    return { items: all.filter((m) => m.seq > q.afterSeq) };
  }

  async take(_pid: number, sid: number): Promise<Session> {
    this.calls.push(`take ${sid}`);
    const s = { ...this.sessionsById.get(sid)!, status: 'assigned' as const, assignee_id: 1 };
    this.sessionsById.set(sid, s);
    return s;
  }
  async assign(_pid: number, sid: number, userId: number | null): Promise<Session> {
    this.calls.push(`assign ${sid} ${userId}`);
    const s = { ...this.sessionsById.get(sid)!, status: userId === null ? ('unassigned' as const) : ('assigned' as const), assignee_id: userId };
    this.sessionsById.set(sid, s);
    return s;
  }
  async end(_pid: number, sid: number): Promise<Session> {
    this.calls.push(`end ${sid}`);
    const s = { ...this.sessionsById.get(sid)!, status: 'ended' as const };
    this.sessionsById.set(sid, s);
    return s;
  }
  async me(): Promise<never> {
    this.calls.push('me');
    throw new ApiError(401, 'unauthenticated', 'log in');
  }
}

export class MemoryStorage implements Storage {
  private data = new Map<string, string>();
  get length() {
    return this.data.size;
  }
  clear() {
    this.data.clear();
  }
  getItem(k: string) {
    return this.data.get(k) ?? null;
  }
  key(i: number) {
    return [...this.data.keys()][i] ?? null;
  }
  removeItem(k: string) {
    this.data.delete(k);
  }
  setItem(k: string, v: string) {
    this.data.set(k, v);
  }
}


/** An in-memory server for the notification settings page: settings plus an outbox. */
export class FakeNotificationsApi implements NotificationsApi {
  settings: NotificationSettings = { email_enabled: false, wait_secs: 300, include_bot_hosted: false, email_configured: true };
  outboxRows = new Map<number, OutboxRow>();
  calls: string[] = [];
  /** Thrown by the next call of that name (then cleared). */
  failNext: Partial<Record<keyof NotificationsApi, ApiError>> = {};
  /** States the test mail goes through, one per poll after the POST (last one sticks). */
  testStates: { state: OutboxRow['state']; last_error?: string | null }[] = [{ state: 'sent' }];
  private nextId = 1;
  private polls = 0;

  private check(name: keyof NotificationsApi): void {
    const e = this.failNext[name];
    if (e) {
      delete this.failNext[name];
      throw e;
    }
  }

  async notificationSettings(pid: number): Promise<NotificationSettings> {
    this.calls.push(`get ${pid}`);
    this.check('notificationSettings');
    return { ...this.settings };
  }

  async updateNotificationSettings(pid: number, patch: NotificationPatch): Promise<NotificationSettings> {
    this.calls.push(`patch ${pid} ${JSON.stringify(patch)}`);
    this.check('updateNotificationSettings');
    if (patch.wait_secs !== undefined && (patch.wait_secs < 1 || patch.wait_secs > 604800)) {
      throw new ApiError(400, 'validation', 'wait_secs must be a whole number of seconds from 1 to 604800');
    }
    this.settings = { ...this.settings, ...patch };
    return { ...this.settings };
  }

  async sendTestEmail(pid: number): Promise<OutboxRow> {
    this.calls.push(`test ${pid}`);
    this.check('sendTestEmail');
    if (!this.settings.email_configured) throw new ApiError(409, 'email_not_configured', 'e-mail is not configured on this server');
    const row = makeOutboxRow({ id: this.nextId++, kind: 'test', state: 'pending' });
    this.outboxRows.set(row.id, row);
    this.polls = 0;
    return row;
  }

  async outboxRow(_pid: number, id: number): Promise<OutboxRow> {
    this.calls.push(`poll ${id}`);
    this.check('outboxRow');
    const step = this.testStates[Math.min(this.polls++, this.testStates.length - 1)];
    const row: OutboxRow = {
      ...this.outboxRows.get(id)!,
      state: step.state,
      attempts: this.polls,
      last_error: step.last_error ?? null,
      sent_at: step.state === 'sent' ? '2026-11-24T10:05:01Z' : null,
    };
    this.outboxRows.set(id, row);
    return row;
  }

  async outbox(_pid: number, q: { state?: OutboxRow['state']; limit?: number } = {}): Promise<OutboxPage> {
    this.calls.push(`outbox ${q.state ?? 'all'}`);
    this.check('outbox');
    const items = [...this.outboxRows.values()].filter((r) => !q.state || r.state === q.state).sort((a, b) => b.id - a.id);
    return { items: items.slice(0, q.limit ?? 50) };
  }
}

export function makeOutboxRow(over: Partial<OutboxRow> = {}): OutboxRow {
  return {
    id: 1,
    kind: 'no_reply_alert',
    session_id: null,
    recipient_user_id: 1,
    to: 'owner@example.com',
    subject: 'Switchboard test e-mail (Demo)',
    state: 'pending',
    attempts: 0,
    last_error: null,
    next_attempt_at: null,
    sent_at: null,
    created_at: '2026-11-24T10:05:00Z',
    ...over,
  };
}
