// What a message carries besides text, and how its platform delivery reads, as pure
// functions. `content` comes from the platform (Messenger attachments and postbacks), so it is
// read defensively: anything malformed is left out, and only http(s) URLs become links (the
// console's CSP allows no remote images, so attachments are links, never <img>).
import type { Delivery } from '../api/types';

export interface AttachmentLink {
  type: string;
  url: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function safeUrl(u: unknown): string | null {
  if (typeof u !== 'string') return null;
  try {
    const url = new URL(u);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

export function attachmentsOf(content: Record<string, unknown> | null | undefined): AttachmentLink[] {
  const list = content?.attachments;
  if (!Array.isArray(list)) return [];
  const out: AttachmentLink[] = [];
  for (const a of list) {
    if (!isObject(a)) continue;
    const url = safeUrl(a.url);
    if (!url) continue;
    out.push({ type: typeof a.type === 'string' && a.type ? a.type : 'file', url });
  }
  return out;
}

const ATTACHMENT_LABELS: Record<string, string> = {
  image: 'Image',
  video: 'Video',
  audio: 'Audio',
  file: 'File',
  fallback: 'Link',
  location: 'Location',
  template: 'Template',
};

export function attachmentLabel(type: string): string {
  return ATTACHMENT_LABELS[type] ?? type.charAt(0).toUpperCase() + type.slice(1);
}

/** The button a postback came from (Get Started, a button): its title, else its payload. */
export function postbackTitle(content: Record<string, unknown> | null | undefined): string | null {
  const p = content?.postback;
  if (!isObject(p)) return null;
  if (typeof p.title === 'string' && p.title.trim()) return p.title;
  return typeof p.payload === 'string' && p.payload ? p.payload : null;
}

/** "Tapped: <title>" for a postback. */
export function postbackText(content: Record<string, unknown> | null | undefined): string | null {
  const title = postbackTitle(content);
  return title === null ? null : `Tapped: ${title}`;
}

/** The message text to show: left out when it only repeats the postback's title. */
export function bodyText(text: string, content: Record<string, unknown> | null | undefined): string {
  const title = postbackTitle(content);
  return title !== null && text.trim() === title.trim() ? '' : text;
}

/** A bot message's buttons (an automation flow's choices), malformed entries left out. */
export function botButtons(content: Record<string, unknown> | null | undefined): { id: string; title: string }[] {
  const list = content?.buttons;
  if (!Array.isArray(list)) return [];
  return list.filter((b): b is { id: string; title: string } => isObject(b) && typeof b.id === 'string' && typeof b.title === 'string');
}

/** The button a visitor's message clicked (`content.button`), if it is a click. */
export function buttonClick(content: Record<string, unknown> | null | undefined): { message_id: number; id: string } | null {
  const b = content?.button;
  return isObject(b) && typeof b.message_id === 'number' && typeof b.id === 'string' ? { message_id: b.message_id, id: b.id } : null;
}

export type DeliveryKind = 'clock' | 'sent' | 'delivered' | 'read' | 'failed' | 'unconfirmed';

export interface DeliveryBadge {
  kind: DeliveryKind;
  /** Ticks for the meta line (a clock is drawn by CSS: fonts may lack the emoji). */
  mark: string;
  /** Spelled out (title, screen readers, and the text shown for failures). */
  label: string;
  /** The agent may send it again. */
  retry: boolean;
}

/** How a platform send reads under the message. */
export function deliveryBadge(d: Delivery | null | undefined): DeliveryBadge | null {
  if (!d) return null;
  switch (d.state) {
    case 'pending':
    case 'sending':
      return { kind: 'clock', mark: '', label: d.attempts > 0 && d.error ? `Sending… (retrying after: ${d.error})` : 'Sending…', retry: false };
    case 'failed':
      return { kind: 'failed', mark: '!', label: `Not sent: ${d.error ?? 'the platform refused the message'}`, retry: true };
    case 'unconfirmed':
      return { kind: 'unconfirmed', mark: '?', label: 'May not have been sent', retry: true };
    case 'sent':
      if (d.read_at) return { kind: 'read', mark: '✓✓', label: 'Read', retry: false };
      if (d.delivered_at) return { kind: 'delivered', mark: '✓✓', label: 'Delivered', retry: false };
      return { kind: 'sent', mark: '✓', label: 'Sent', retry: false };
  }
}
