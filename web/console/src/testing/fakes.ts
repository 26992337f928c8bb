// Test doubles shared by the unit tests: a scriptable WebSocket and factories for API rows.
import type { Message, Session } from '../api/types';
import type { WebSocketLike } from '../realtime/agentSocket';

export class FakeWebSocket implements WebSocketLike {
  static all: FakeWebSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  closedWith: number | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeWebSocket.all.push(this);
  }

  static reset(): void {
    FakeWebSocket.all = [];
  }

  static get last(): FakeWebSocket {
    const ws = FakeWebSocket.all[FakeWebSocket.all.length - 1];
    if (!ws) throw new Error('no socket was created');
    return ws;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
  }

  // --- driven by the test ---

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** Opens and greets, like the server does on connect. */
  accept(hello: Partial<{ user_id: number; project_id: number; data_scope: 'all' | 'own' }> = {}): void {
    this.open();
    this.receive({ type: 'hello', user_id: 1, project_id: 1, data_scope: 'all', ...hello });
  }

  receive(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify({ v: 1, ...frame }) });
  }

  /** The server (or the network) drops the connection. */
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code });
  }

  sentOfType(type: string): Record<string, unknown>[] {
    return this.sent.filter((f) => f.type === type);
  }
}

export function makeSession(over: Partial<Session> & { id: number }): Session {
  return {
    project_id: 1,
    channel_id: 1,
    contact_id: over.id * 10,
    contact_name: `Visitor ${over.id}`,
    note_name: null,
    status: 'unassigned',
    bot_hosted: false,
    assignee_id: null,
    created_at: '2026-11-24T10:00:00Z',
    received_at: null,
    awaiting_since: null,
    first_response_at: null,
    first_response_secs: null,
    ended_at: null,
    last_seq: 0,
    last_message_at: '2026-11-24T10:00:00Z',
    message_count: 0,
    visitor_message_count: 0,
    agent_message_count: 0,
    ...over,
  };
}

export function makeMessage(over: Partial<Message> & { session_id: number; seq: number }): Message {
  return {
    message_id: over.session_id * 1000 + over.seq,
    sender: 'visitor',
    sender_user_id: null,
    client_id: null,
    text: `message ${over.seq}`,
    off_platform: false,
    content: {},
    delivery: null,
    created_at: new Date(Date.UTC(2026, 10, 24, 10, 0, over.seq)).toISOString(),
    ...over,
  };
}

/** A message as a socket frame. */
export function messageFrame(m: Message): Record<string, unknown> {
  return { type: 'message', ...m };
}
