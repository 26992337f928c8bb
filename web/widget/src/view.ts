// The widget's DOM: a host element with an open shadow root holding the launcher and the
// panel. It renders a model (no logic of its own beyond focus and scrolling) and reports what
// the visitor does. Message text only ever goes in through text nodes, never as markup.
import { CSS } from './styles';
import { asking, buttonStates, buttonsOf, type ChatButton, type ChatMessage } from './state';
import type { Status } from './socket';

export interface ViewModel {
  open: boolean;
  status: Status;
  messages: ChatMessage[];
  unread: number;
  agentTyping: boolean;
  ended: boolean;
}

export interface ViewEvents {
  toggle(open: boolean): void;
  send(text: string): void;
  input(empty: boolean): void;
  /** A bot message's button was clicked. */
  click(messageId: number, button: ChatButton): void;
}

export interface ViewOptions {
  title: string;
  greeting: string;
  color?: string;
}

// Non-ASCII characters are made at run time: the bundler would write them literally, and a
// page without a charset (or a CDN without one) would decode widget.js as Latin-1.
// (Through a function: the minifier folds String.fromCharCode(literal) back into a literal.)
export const ch = (code: number): string => String.fromCodePoint(code);
export const ELLIPSIS = ch(8230);
export const DASH = ch(8212);

const STATUS: Record<Status, [string, string]> = {
  connecting: ['Connecting' + ELLIPSIS, ''],
  online: ['Online', 'on'],
  reconnecting: ['Reconnecting' + ELLIPSIS, ''],
  offline: ['Offline', 'off'],
};

const ICON = {
  chat: 'M21 11.5a8.4 8.4 0 0 1-9 8.4 9 9 0 0 1-3.9-.9L3 20l1.2-4.3A8 8 0 0 1 3 11.5 8.6 8.6 0 0 1 12 3a8.6 8.6 0 0 1 9 8.5z',
  close: 'M6 6l12 12M18 6 6 18',
  down: 'M6 9l6 6 6-6',
  send: 'M4 12 20 4l-4 16-4-7-8-1zM12 13l8-9',
};

type Tag = keyof HTMLElementTagNameMap;

export class View {
  readonly host: HTMLElement;
  private wrap: HTMLElement;
  private launcher: HTMLButtonElement;
  private badge: HTMLElement;
  private panel: HTMLElement;
  private status: HTMLElement;
  private log: HTMLElement;
  private intro: HTMLElement;
  private endedNote: HTMLElement;
  private typing: HTMLElement;
  private input: HTMLTextAreaElement;
  private sendBtn: HTMLButtonElement;
  private nodes = new Map<string, { el: HTMLElement; sig: string }>();
  private dividers = new Map<number, HTMLElement>();
  private wasOpen = false;
  private count = 0;

  constructor(
    private doc: Document,
    private ev: ViewEvents,
    opts: ViewOptions,
  ) {
    // A custom element name: no page rule written for div/section/etc. matches the host.
    const host = (this.host = doc.createElement('switchboard-widget'));
    host.id = 'switchboard-widget';
    if (opts.color) host.style.setProperty('--a', opts.color);
    const root = host.attachShadow({ mode: 'open' });
    addStyles(root, doc);

    this.wrap = this.el('div', 'w');
    const panel = (this.panel = this.el('div', 'p', { 'data-testid': 'sb-panel', id: 'sb-panel', role: 'dialog', 'aria-label': opts.title }));

    const head = this.el('div', 'h');
    const av = this.el('div', 'av');
    av.appendChild(icon(ICON.chat));
    const title = this.el('div', 't');
    title.appendChild(this.el('b', '', {}, opts.title));
    this.status = this.el('div', 's', { 'data-testid': 'sb-status', role: 'status' });
    title.appendChild(this.status);
    const close = this.el('button', '', { type: 'button', 'aria-label': 'Minimise chat', title: 'Minimise' });
    close.appendChild(icon(ICON.down));
    close.onclick = () => ev.toggle(false);
    append(head, av, title, close);

    this.log = this.el('div', 'm', { 'data-testid': 'sb-messages', role: 'log', 'aria-live': 'polite', tabindex: '0', 'aria-label': 'Messages' });
    this.intro = this.el('div', 'i', {}, opts.greeting);
    this.endedNote = this.el('div', 'e', {}, 'Conversation ended');
    this.typing = this.el('div', 'y', { 'data-testid': 'sb-typing' });
    append(this.typing, this.el('span'), this.el('span', '', {}, 'Agent is typing' + ELLIPSIS));
    for (let i = 0; i < 3; i++) this.typing.firstChild!.appendChild(this.el('i'));

    const form = this.el('div', 'f');
    const input = (this.input = this.el('textarea', '', {
      'data-testid': 'sb-input',
      'aria-label': 'Message',
      placeholder: 'Write a message' + ELLIPSIS,
      rows: '1',
      maxlength: '8000',
    }));
    const send = (this.sendBtn = this.el('button', 'sd', { type: 'button', 'data-testid': 'sb-send', 'aria-label': 'Send message', title: 'Send' }));
    send.appendChild(icon(ICON.send));
    send.onclick = () => this.submit();
    input.onkeydown = (e) => {
      // Enter sends, Shift+Enter is a new line; never while an IME is composing a character.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        this.submit();
      }
    };
    input.oninput = () => {
      this.grow();
      ev.input(!input.value.trim());
    };
    append(form, input, send);
    append(panel, head, this.log, form);

    const launcher = (this.launcher = this.el('button', 'l', { type: 'button', 'data-testid': 'sb-launcher', 'aria-controls': 'sb-panel' }));
    append(launcher, icon(ICON.chat, 'c'), icon(ICON.close, 'x'));
    launcher.onclick = () => ev.toggle(!this.wasOpen);
    this.badge = this.el('span', 'b', { 'data-testid': 'sb-badge', 'aria-hidden': 'true' });

    this.wrap.onkeydown = (e) => {
      if (e.key === 'Escape' && this.wasOpen) {
        e.stopPropagation();
        ev.toggle(false);
      }
    };
    append(this.wrap, panel, launcher);
    root.appendChild(this.wrap);
    this.grow();
  }

  render(m: ViewModel): void {
    const log = this.log;
    // Follow new messages only if the visitor was already reading the bottom of the list.
    const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
    const before = this.count;

    const [text, cls] = STATUS[m.status];
    if (this.status.textContent !== text) this.status.textContent = text;
    this.status.className = 's ' + cls;

    const want: Node[] = [this.intro];
    let prev: ChatMessage | undefined;
    const keep = new Set<string>();
    const buttons = buttonStates(m.messages);
    for (const msg of m.messages) {
      if (prev && prev.sessionId && msg.sessionId && prev.sessionId !== msg.sessionId) want.push(this.divider(msg.sessionId));
      const el = this.message(msg, !!prev && prev.sender === msg.sender && prev.sessionId === msg.sessionId, m.status === 'online');
      this.buttons(el, msg, buttons.get(msg));
      want.push(el);
      keep.add(msg.key);
      prev = msg;
    }
    this.nodes.forEach((_, k) => keep.has(k) || this.nodes.delete(k));
    if (m.ended) want.push(this.endedNote);
    if (m.agentTyping) want.push(this.typing);
    sync(log, want);
    this.count = m.messages.length;

    if (m.unread > 0) {
      this.badge.textContent = m.unread > 99 ? '99+' : String(m.unread);
      if (!this.badge.parentNode) this.launcher.appendChild(this.badge);
    } else if (this.badge.parentNode) this.badge.remove();

    // A question for an e-mail or a phone number gets the matching keyboard on phones.
    const ask = asking(m.messages);
    const mode = ask === 'email' ? 'email' : ask === 'phone' ? 'tel' : 'text';
    if (this.input.getAttribute('inputmode') !== mode) {
      this.input.setAttribute('inputmode', mode);
      this.input.placeholder = ask === 'email' ? 'Your e-mail address' + ELLIPSIS : ask === 'phone' ? 'Your phone number' + ELLIPSIS : 'Write a message' + ELLIPSIS;
    }

    this.wrap.className = m.open ? 'w o' : 'w';
    this.launcher.setAttribute('aria-expanded', String(m.open));
    this.launcher.setAttribute('aria-label', m.open ? 'Close chat' : m.unread ? `Open chat, ${m.unread} unread` : 'Open chat');
    this.panel.setAttribute('aria-hidden', String(!m.open));

    const opened = m.open && !this.wasOpen;
    if (opened) this.input.focus();
    else if (!m.open && this.wasOpen && this.host.shadowRoot!.activeElement) this.launcher.focus();
    this.wasOpen = m.open;
    if (opened || (stick && (this.count !== before || m.agentTyping))) log.scrollTop = log.scrollHeight;
  }

  private submit(): void {
    const text = this.input.value;
    if (!text.trim()) return;
    this.ev.send(text);
    this.input.value = '';
    this.grow();
    this.log.scrollTop = this.log.scrollHeight;
    this.input.focus();
  }

  /** The textarea grows with its text up to a few lines (CSS caps the height). */
  private grow(): void {
    const i = this.input;
    i.style.height = 'auto';
    if (i.scrollHeight) i.style.height = i.scrollHeight + 2 + 'px';
    this.sendBtn.disabled = !i.value.trim();
  }

  private message(msg: ChatMessage, same: boolean, online: boolean): HTMLElement {
    let n = this.nodes.get(msg.key);
    if (!n) {
      const el = this.el('div', '', { 'data-testid': 'sb-message' });
      const bubble = this.el('div', 'u');
      linkify(bubble, msg.text, this.doc);
      el.appendChild(bubble);
      n = { el, sig: '' };
      this.nodes.set(msg.key, n);
    }
    const sig = [msg.seq, msg.pending, msg.failed, same, msg.at, online].join();
    if (n.sig !== sig) {
      n.sig = sig;
      const el = n.el;
      el.className = `g ${msg.sender}${same ? ' same' : ''}${msg.pending ? ' pending' : ''}${msg.failed ? ' failed' : ''}`;
      el.setAttribute('data-seq', msg.seq === null ? '' : String(msg.seq));
      el.setAttribute('data-sender', msg.sender);
      if (msg.pending) el.setAttribute('data-pending', 'true');
      else el.removeAttribute('data-pending');
      if (msg.failed) el.setAttribute('data-failed', 'true');
      const when = msg.at ? new Date(msg.at) : null;
      if (when && !isNaN(when.getTime())) el.firstElementChild!.setAttribute('title', when.toLocaleString());
      let meta = el.querySelector('.k');
      const note = msg.pending ? (online ? 'Sending' : 'Waiting for connection') + ELLIPSIS : msg.failed ? 'Not delivered' : '';
      if (note && !meta) meta = el.appendChild(this.el('div', 'k'));
      if (meta) {
        if (note) meta.textContent = note;
        else meta.remove();
      }
    }
    return n.el;
  }

  /** A bot message's buttons under its bubble; spent (disabled) once the visitor answered. */
  private buttons(el: HTMLElement, msg: ChatMessage, st: { live: boolean; chosen?: string } | undefined): void {
    let box = el.querySelector<HTMLElement>('.bt');
    if (!st) return void (box && box.remove());
    const sig = st.live + ':' + (st.chosen || '');
    if (box && box.getAttribute('data-sig') === sig) return;
    if (!box) box = el.insertBefore(this.el('div', 'bt', { 'data-testid': 'sb-buttons' }), el.firstElementChild!.nextSibling);
    box.setAttribute('data-sig', sig);
    box.textContent = '';
    for (const b of buttonsOf(msg)) {
      const chosen = st.chosen === b.id;
      const btn = this.el('button', chosen ? 'on' : '', { type: 'button', 'data-testid': 'sb-button', 'data-button-id': b.id, 'aria-pressed': String(chosen) }, b.title);
      btn.disabled = !st.live || msg.messageId === undefined;
      btn.onclick = () => msg.messageId !== undefined && this.ev.click(msg.messageId, b);
      box.appendChild(btn);
    }
  }

  private divider(sessionId: number): HTMLElement {
    let d = this.dividers.get(sessionId);
    if (!d) this.dividers.set(sessionId, (d = this.el('div', 'e', {}, 'New conversation')));
    return d;
  }

  private el<K extends Tag>(tag: K, cls = '', attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
    const e = this.doc.createElement(tag);
    if (cls) e.className = cls;
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
}

/** Styles as a constructed stylesheet where supported: a page whose CSP forbids inline
 *  styles cannot block it (a <style> element would be); older browsers get a <style>. */
function addStyles(root: ShadowRoot, doc: Document): void {
  try {
    if (!('adoptedStyleSheets' in root)) throw 0;
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    (root as ShadowRoot & { adoptedStyleSheets: CSSStyleSheet[] }).adoptedStyleSheets = [sheet];
    return;
  } catch {
    /* not supported: fall through */
  }
  const style = doc.createElement('style');
  style.textContent = CSS;
  root.appendChild(style);
}

function icon(d: string, cls?: string): SVGSVGElement {
  // Built node by node rather than from markup, so pages enforcing Trusted Types accept it.
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  if (cls) svg.setAttribute('class', cls);
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', d);
  svg.appendChild(p);
  return svg;
}

function append(parent: Node, ...kids: Node[]): void {
  for (const k of kids) parent.appendChild(k);
}

/** Makes `parent`'s children exactly `want`, in order, moving only what is out of place. */
export function sync(parent: Node, want: Node[]): void {
  want.forEach((n, i) => {
    if (parent.childNodes[i] !== n) parent.insertBefore(n, parent.childNodes[i] || null);
  });
  while (parent.childNodes.length > want.length) parent.removeChild(parent.lastChild!);
}

/** Appends `text` to `parent` as text nodes, with http(s) URLs as links. */
export function linkify(parent: Node, text: string, doc: Document): void {
  const re = /https?:\/\/[^\s<>"]*[^\s<>".,;:!?)\]'}]/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    if (m.index > last) parent.appendChild(doc.createTextNode(text.slice(last, m.index)));
    const a = doc.createElement('a');
    a.href = m[0];
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    a.textContent = m[0];
    parent.appendChild(a);
    last = m.index + m[0].length;
  }
  if (last < text.length) parent.appendChild(doc.createTextNode(text.slice(last)));
}
