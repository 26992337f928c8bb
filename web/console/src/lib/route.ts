// The console's URL state: which chat is open (`/chats/42`), or which settings page
// (`/settings/notifications`), so a reload or a shared link lands on the same screen. The
// server answers every non-API path with index.html.

export type SettingsSection = 'notifications' | 'hosting' | 'team' | 'messenger';

export type Route =
  | { kind: 'inbox'; chatId: number | null }
  | { kind: 'settings'; section: SettingsSection }
  | { kind: 'sessions' }
  | { kind: 'contacts' }
  | { kind: 'automation'; flowId: number | null; data?: DataRoute };

/** The Automation page's Data view: the flow list with figures, or one flow's visitors or funnel. */
export type DataRoute = { page: 'list' } | { page: 'visitors' | 'funnel'; flowId: number };

export const SETTINGS_SECTIONS: readonly SettingsSection[] = ['notifications', 'hosting', 'team', 'messenger'];

export function chatIdFromPath(pathname: string): number | null {
  const m = /^\/chats\/(\d+)\/?$/.exec(pathname);
  return m ? Number(m[1]) : null;
}

export function pathForChat(sessionId: number | null): string {
  return sessionId === null ? '/' : `/chats/${sessionId}`;
}

/** Any path that is not a settings page is the inbox (with a chat open if the path names one). */
export function routeFromPath(pathname: string): Route {
  if (/^\/contacts\/?$/.test(pathname)) return { kind: 'contacts' };
  if (/^\/sessions\/?$/.test(pathname)) return { kind: 'sessions' };
  const data = /^\/automation\/data(?:\/(\d+)\/(visitors|funnel))?\/?$/.exec(pathname);
  if (data) return { kind: 'automation', flowId: null, data: data[1] ? { page: data[2] as 'visitors' | 'funnel', flowId: Number(data[1]) } : { page: 'list' } };
  const flow = /^\/automation(?:\/(\d+))?\/?$/.exec(pathname);
  if (flow) return { kind: 'automation', flowId: flow[1] ? Number(flow[1]) : null };
  const m = /^\/settings(?:\/([a-z-]+))?\/?$/.exec(pathname);
  if (m) {
    const section = (m[1] ?? 'notifications') as SettingsSection;
    if (SETTINGS_SECTIONS.includes(section)) return { kind: 'settings', section };
  }
  return { kind: 'inbox', chatId: chatIdFromPath(pathname) };
}

export function pathForRoute(route: Route): string {
  if (route.kind === 'contacts') return '/contacts';
  if (route.kind === 'sessions') return '/sessions';
  if (route.kind === 'automation') {
    if (route.data) return route.data.page === 'list' ? '/automation/data' : `/automation/data/${route.data.flowId}/${route.data.page}`;
    return route.flowId === null ? '/automation' : `/automation/${route.flowId}`;
  }
  return route.kind === 'settings' ? `/settings/${route.section}` : pathForChat(route.chatId);
}
