// A scripted stand-in for the browser WebSocket, for the socket and client tests (not bundled).
import type { LinkEnv, SocketLike } from './socket';

export class FakeSocket implements SocketLike {
  readyState = 1;
  sent: any[] = [];
  closed = false;
  onopen: ((ev: any) => void) | null = null;
  onmessage: ((ev: any) => void) | null = null;
  onclose: ((ev: any) => void) | null = null;
  onerror: ((ev: any) => void) | null = null;
  constructor(public url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
  }
  /** The server sends a frame. */
  push(frame: object) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  /** The connection ends. */
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
  types() {
    return this.sent.map((f) => f.type);
  }
}

export function fakeEnv() {
  const sockets: FakeSocket[] = [];
  const env: LinkEnv & { sockets: FakeSocket[]; isOnline: boolean } = {
    sockets,
    isOnline: true,
    open: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    online: () => env.isOnline,
    random: () => 0.5,
  };
  return env;
}

export const hello = (session_id: number | null, token = 'tok', last_seq = 0) => ({ v: 1, type: 'hello', visitor_token: token, contact_id: 1, session_id, last_seq });
