// Rules of the "Connect a Page" form, as pure functions: the form ↔ the API's shapes, the
// message-tag list editor and how a channel's health reads. Secrets are write-only: the form
// never holds a stored secret (the API does not return them), an empty secret field means
// "unchanged" when editing and "missing" when connecting, and a PATCH leaves empty ones out.
import type { ChannelView, MessengerPatch, NewMessengerChannel } from '../api/channels';

export interface MessengerForm {
  pageId: string;
  pageName: string;
  /** Secrets: typed by the admin only, never filled from the server. */
  pageToken: string;
  appId: string;
  appSecret: string;
  verifyToken: string;
  humanAgent: boolean;
  tags: string[];
  /** The tag being typed into the list editor. */
  tagDraft: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

export const EMPTY_FORM: MessengerForm = {
  pageId: '',
  pageName: '',
  pageToken: '',
  appId: '',
  appSecret: '',
  verifyToken: '',
  humanAgent: false,
  tags: [],
  tagDraft: '',
};

export const RETIRED_TAGS_HINT =
  'Meta retired CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE and ACCOUNT_UPDATE on 2026-04-27 (sends with them fail). Leave this empty unless Meta’s policy changes.';

/** The form for editing a connected Page: its settings, with every secret field empty. */
export function formFromChannel(ch: ChannelView): MessengerForm {
  const m = ch.messenger;
  return {
    ...EMPTY_FORM,
    pageId: m?.page_id ?? '',
    pageName: m?.page_name ?? ch.name,
    appId: m?.app_id ?? '',
    humanAgent: m?.human_agent ?? false,
    tags: [...(m?.allowed_tags ?? [])],
  };
}

const ID_RE = /^\d{1,30}$/;

/** The body of POST …/channels/messenger; every field is required. */
export function newChannelBody(f: MessengerForm): Checked<NewMessengerChannel> {
  const pageId = f.pageId.trim();
  const appId = f.appId.trim();
  if (!ID_RE.test(pageId)) return { ok: false, error: 'Enter the Page id (digits, from the Page’s About section or Meta Business Suite).' };
  if (f.pageName.trim() === '') return { ok: false, error: 'Enter the Page name.' };
  if (f.pageToken.trim() === '') return { ok: false, error: 'Enter the Page access token.' };
  if (!ID_RE.test(appId)) return { ok: false, error: 'Enter the App id (digits, from the app dashboard).' };
  if (f.appSecret.trim() === '') return { ok: false, error: 'Enter the App secret.' };
  if (f.verifyToken.trim() === '') return { ok: false, error: 'Enter a webhook verify token (any string you choose; paste the same in Meta’s dashboard).' };
  return {
    ok: true,
    value: {
      page_id: pageId,
      page_name: f.pageName.trim(),
      page_access_token: f.pageToken.trim(),
      app_id: appId,
      app_secret: f.appSecret.trim(),
      verify_token: f.verifyToken.trim(),
      human_agent: f.humanAgent,
      allowed_tags: [...f.tags],
    },
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The PATCH for an edit: changed settings only, and only the secrets that were typed. */
export function patchFromForm(f: MessengerForm, ch: ChannelView): Checked<MessengerPatch> {
  const m = ch.messenger;
  const patch: MessengerPatch = {};
  const pageName = f.pageName.trim();
  const appId = f.appId.trim();
  if (pageName === '') return { ok: false, error: 'Enter the Page name.' };
  if (!ID_RE.test(appId)) return { ok: false, error: 'Enter the App id (digits, from the app dashboard).' };
  if (pageName !== (m?.page_name ?? ch.name)) patch.page_name = pageName;
  if (appId !== (m?.app_id ?? '')) patch.app_id = appId;
  if (f.humanAgent !== (m?.human_agent ?? false)) patch.human_agent = f.humanAgent;
  if (!sameList(f.tags, m?.allowed_tags ?? [])) patch.allowed_tags = [...f.tags];
  if (f.pageToken.trim() !== '') patch.page_access_token = f.pageToken.trim();
  if (f.appSecret.trim() !== '') patch.app_secret = f.appSecret.trim();
  if (f.verifyToken.trim() !== '') patch.verify_token = f.verifyToken.trim();
  return { ok: true, value: patch };
}

export function isEmptyPatch(p: MessengerPatch): boolean {
  return Object.keys(p).length === 0;
}

const TAG_RE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Adds the typed tag (upper-cased: Meta's tags are) to the list; refuses bad or repeated ones. */
export function addTag(f: MessengerForm): Checked<MessengerForm> {
  const tag = f.tagDraft.trim().toUpperCase();
  if (tag === '') return { ok: false, error: 'Type a message tag first.' };
  if (!TAG_RE.test(tag)) return { ok: false, error: 'A message tag is letters, digits and underscores, like HUMAN_AGENT.' };
  if (tag === 'HUMAN_AGENT') return { ok: false, error: 'HUMAN_AGENT is not a tag to pick: turn on the Human Agent permission switch instead.' };
  if (f.tags.includes(tag)) return { ok: false, error: `${tag} is already in the list.` };
  return { ok: true, value: { ...f, tags: [...f.tags, tag], tagDraft: '' } };
}

export function removeTag(f: MessengerForm, tag: string): MessengerForm {
  return { ...f, tags: f.tags.filter((t) => t !== tag) };
}

/** "set" / "not set" beside a secret field (from the server's has_* flags). */
export function secretStatus(has: boolean | undefined): string {
  return has ? 'set' : 'not set';
}

export interface HealthLine {
  tone: 'ok' | 'danger' | 'warn';
  text: string;
  detail: string | null;
}

export function healthLine(ch: Pick<ChannelView, 'health' | 'health_detail'>): HealthLine {
  const detail = ch.health_detail && ch.health_detail.trim() ? ch.health_detail : null;
  switch (ch.health) {
    case 'needs_reconnect':
      return { tone: 'danger', text: 'Token invalid — reconnect', detail };
    case 'restricted':
      return { tone: 'warn', text: 'Restricted', detail };
    default:
      return { tone: 'ok', text: 'Connected', detail };
  }
}
