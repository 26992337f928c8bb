// An in-memory stand-in for the REST API, recording the calls it gets.
import { ApiError } from '../api/http';
import type { SessionQuery } from '../api/http';
import type { Message, Session, SessionPage } from '../api/types';
import type { InboxApi } from '../inbox/inboxController';

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

