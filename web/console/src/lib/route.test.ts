import { describe, expect, it } from 'vitest';
import { chatIdFromPath, pathForChat, pathForRoute, routeFromPath } from './route';

describe('route', () => {
  it('reads the open chat and the settings page from the path', () => {
    expect(routeFromPath('/')).toEqual({ kind: 'inbox', chatId: null });
    expect(routeFromPath('/chats/42')).toEqual({ kind: 'inbox', chatId: 42 });
    expect(routeFromPath('/settings/notifications')).toEqual({ kind: 'settings', section: 'notifications' });
    expect(routeFromPath('/settings/notifications/')).toEqual({ kind: 'settings', section: 'notifications' });
    expect(routeFromPath('/settings')).toEqual({ kind: 'settings', section: 'notifications' });
    // Unknown pages are the inbox.
    expect(routeFromPath('/settings/unknown')).toEqual({ kind: 'inbox', chatId: null });
    expect(routeFromPath('/nope')).toEqual({ kind: 'inbox', chatId: null });
    expect(chatIdFromPath('/settings/notifications')).toBeNull();
    expect(routeFromPath('/sessions')).toEqual({ kind: 'sessions' });
    expect(routeFromPath('/settings/team')).toEqual({ kind: 'settings', section: 'team' });
    expect(routeFromPath('/settings/messenger')).toEqual({ kind: 'settings', section: 'messenger' });
    expect(routeFromPath('/settings/hosting')).toEqual({ kind: 'settings', section: 'hosting' });
  });

  it('writes paths that read back the same', () => {
    for (const path of ['/', '/chats/7', '/settings/notifications', '/settings/team', '/sessions']) expect(pathForRoute(routeFromPath(path))).toBe(path);
    expect(pathForChat(null)).toBe('/');
    expect(pathForChat(3)).toBe('/chats/3');
  });

  it('reads and writes the automation pages', () => {
    expect(routeFromPath('/automation')).toEqual({ kind: 'automation', flowId: null });
    expect(routeFromPath('/automation/12')).toEqual({ kind: 'automation', flowId: 12 });
    expect(pathForRoute({ kind: 'automation', flowId: 12 })).toBe('/automation/12');
    expect(pathForRoute({ kind: 'automation', flowId: null })).toBe('/automation');
  });

  it('reads and writes the Data view, a flow\'s visitors and its funnel', () => {
    expect(routeFromPath('/automation/data')).toEqual({ kind: 'automation', flowId: null, data: { page: 'list' } });
    expect(routeFromPath('/automation/data/5/visitors')).toEqual({ kind: 'automation', flowId: null, data: { page: 'visitors', flowId: 5 } });
    expect(routeFromPath('/automation/data/5/funnel')).toEqual({ kind: 'automation', flowId: null, data: { page: 'funnel', flowId: 5 } });
    for (const path of ['/automation/data', '/automation/data/5/visitors', '/automation/data/5/funnel']) expect(pathForRoute(routeFromPath(path))).toBe(path);
    expect(routeFromPath('/automation/data/5')).toEqual({ kind: 'inbox', chatId: null });
  });
});
