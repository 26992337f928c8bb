// The console's only URL state: which chat is open (`/chats/42`), so a reload or a shared
// link lands on the same conversation. The server answers every non-API path with index.html.

export function chatIdFromPath(pathname: string): number | null {
  const m = /^\/chats\/(\d+)\/?$/.exec(pathname);
  return m ? Number(m[1]) : null;
}

export function pathForChat(sessionId: number | null): string {
  return sessionId === null ? '/' : `/chats/${sessionId}`;
}
