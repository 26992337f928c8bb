// Bootstrap: <script src="https://HOST/widget.js" data-key="WIDGET_KEY" async></script>
// Optional attributes: data-server (the chat server's origin, default the script's origin),
// data-title, data-greeting, data-color.
import { Client, localStore } from './client';
import { View, ch, DASH } from './view';

interface Widget {
  open(): void;
  close(): void;
}

let widget: Widget | undefined;

/** Opens the chat panel (for a page's own "Chat with us" links). */
export function open(): void {
  widget?.open();
}

export function close(): void {
  widget?.close();
}

// Read while this script runs: document.currentScript is null afterwards (and in modules).
const script =
  (document.currentScript as HTMLScriptElement | null) ||
  document.querySelector<HTMLScriptElement>('script[data-key][src*="widget.js"]');

function boot(s: HTMLScriptElement): void {
  const key = s.getAttribute('data-key');
  if (!key) return console.warn('Switchboard widget: the script tag needs a data-key attribute');
  if (document.getElementById('switchboard-widget')) return; // the snippet was pasted twice
  let server: string;
  try {
    server = new URL(s.getAttribute('data-server') || s.src, location.href).origin;
  } catch {
    return console.warn('Switchboard widget: cannot tell the server from data-server / src');
  }
  const attr = (name: string, dflt: string) => s.getAttribute('data-' + name) || dflt;
  const color = attr('color', '');

  const client = new Client({
    server,
    key,
    store: localStore(`sb:${key}:`),
    env: {
      open: (url) => new WebSocket(url),
      online: () => navigator.onLine !== false,
      random: Math.random,
    },
  });
  const view = new View(
    document,
    {
      toggle: (o) => client.setOpen(o),
      send: (text) => client.send(text),
      input: (empty) => client.typing.input(empty),
      click: (id, b) => client.click(id, b),
    },
    {
      title: attr('title', 'Chat with us'),
      greeting: attr('greeting', `Hi there ${ch(0x1f44b)} Ask us anything ${DASH} we usually answer within a few minutes.`),
      color: color && typeof CSS !== 'undefined' && CSS.supports('color', color) ? color : undefined,
    },
  );
  const render = () =>
    view.render({
      open: client.chat.open,
      status: client.status,
      messages: client.chat.messages,
      unread: client.chat.unread,
      agentTyping: client.chat.agentTyping,
      ended: client.chat.ended,
    });
  client.onChange = render;
  document.body.appendChild(view.host);
  render();
  // Network back, or the tab shown again (mobile browsers drop sockets of background tabs):
  // reconnect now rather than after the remaining backoff.
  addEventListener('online', () => client.link.wake());
  document.addEventListener('visibilitychange', () => document.hidden || client.link.wake());
  addEventListener('offline', () => client.link.offline());
  client.start();
  widget = { open: () => client.setOpen(true), close: () => client.setOpen(false) };
}

if (script) {
  if (document.body) boot(script);
  else document.addEventListener('DOMContentLoaded', () => boot(script));
}
