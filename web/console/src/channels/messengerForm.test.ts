import { describe, expect, it } from 'vitest';
import { makeChannel } from '../testing/fakeChannels';
import { addTag, EMPTY_FORM, formFromChannel, healthLine, isEmptyPatch, newChannelBody, patchFromForm, removeTag, secretStatus } from './messengerForm';

const filled = {
  ...EMPTY_FORM,
  pageId: ' 1234567890 ',
  pageName: 'Acme Support',
  pageToken: 'EAAB-token',
  appId: '555',
  appSecret: 'app-secret',
  verifyToken: 'verify-me',
};

describe('Messenger form', () => {
  it('never fills a secret from the server when editing', () => {
    const f = formFromChannel(makeChannel({ id: 1 }));
    expect(f.pageToken).toBe('');
    expect(f.appSecret).toBe('');
    expect(f.verifyToken).toBe('');
    expect(f.pageId).toBe('101');
    expect(f.appId).toBe('555');
  });

  it('a new Page needs every field; the body is trimmed', () => {
    expect(newChannelBody(filled)).toEqual({
      ok: true,
      value: {
        page_id: '1234567890',
        page_name: 'Acme Support',
        page_access_token: 'EAAB-token',
        app_id: '555',
        app_secret: 'app-secret',
        verify_token: 'verify-me',
        human_agent: false,
        allowed_tags: [],
      },
    });
    for (const k of ['pageId', 'pageName', 'pageToken', 'appId', 'appSecret', 'verifyToken'] as const) {
      expect(newChannelBody({ ...filled, [k]: '  ' }).ok).toBe(false);
    }
    expect(newChannelBody({ ...filled, pageId: 'acme' })).toMatchObject({ ok: false, error: expect.stringContaining('Page id') });
  });

  it('an edit sends only what changed, and leaves empty secrets out (unchanged)', () => {
    const ch = makeChannel({ id: 1 });
    const untouched = formFromChannel(ch);
    const none = patchFromForm(untouched, ch);
    expect(none).toEqual({ ok: true, value: {} });
    expect(none.ok && isEmptyPatch(none.value)).toBe(true);

    const p = patchFromForm({ ...untouched, humanAgent: true, pageToken: ' new-token ' }, ch);
    expect(p).toEqual({ ok: true, value: { human_agent: true, page_access_token: 'new-token' } });
    expect(p.ok && 'app_secret' in p.value).toBe(false);
    expect(p.ok && 'verify_token' in p.value).toBe(false);

    const q = patchFromForm({ ...untouched, tags: ['ACCOUNT_NOTICE'], appSecret: 's2', verifyToken: 'v2' }, ch);
    expect(q).toEqual({ ok: true, value: { allowed_tags: ['ACCOUNT_NOTICE'], app_secret: 's2', verify_token: 'v2' } });
  });

  it('edits the allowed tags: upper-cased, no duplicates, no HUMAN_AGENT', () => {
    const a = addTag({ ...EMPTY_FORM, tagDraft: ' account_notice ' });
    expect(a).toMatchObject({ ok: true, value: { tags: ['ACCOUNT_NOTICE'], tagDraft: '' } });
    const f = a.ok ? a.value : EMPTY_FORM;
    expect(addTag({ ...f, tagDraft: 'ACCOUNT_NOTICE' })).toMatchObject({ ok: false, error: expect.stringContaining('already') });
    expect(addTag({ ...f, tagDraft: 'human_agent' })).toMatchObject({ ok: false, error: expect.stringContaining('Human Agent') });
    expect(addTag({ ...f, tagDraft: 'two words' }).ok).toBe(false);
    expect(addTag({ ...f, tagDraft: '' }).ok).toBe(false);
    expect(removeTag(f, 'ACCOUNT_NOTICE').tags).toEqual([]);
    // The default is empty.
    expect(EMPTY_FORM.tags).toEqual([]);
  });

  it('reads health and secret flags', () => {
    expect(healthLine({ health: 'connected', health_detail: null })).toEqual({ tone: 'ok', text: 'Connected', detail: null });
    expect(healthLine({ health: 'needs_reconnect', health_detail: 'Error validating access token (190)' })).toEqual({
      tone: 'danger',
      text: 'Token invalid — reconnect',
      detail: 'Error validating access token (190)',
    });
    expect(healthLine({ health: 'restricted', health_detail: ' ' })).toMatchObject({ tone: 'warn', text: 'Restricted', detail: null });
    expect(secretStatus(true)).toBe('set');
    expect(secretStatus(false)).toBe('not set');
  });
});
