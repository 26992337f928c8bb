import { describe, expect, it } from 'vitest';
import { pathForRoute, routeFromPath } from '../lib/route';

describe('contacts route', () => {
  it('is /contacts, and reads back', () => {
    expect(routeFromPath('/contacts')).toEqual({ kind: 'contacts' });
    expect(routeFromPath('/contacts/')).toEqual({ kind: 'contacts' });
    expect(routeFromPath('/contacts/5')).toEqual({ kind: 'inbox', chatId: null });
    expect(pathForRoute({ kind: 'contacts' })).toBe('/contacts');
  });
});
