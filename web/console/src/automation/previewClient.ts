// The test run's chat: the widget's own client (same protocol, resume, outbox and button
// clicks) as the preview visitor the server made, its token handed over instead of stored.
import { Client, type Store } from '../../../widget/src/client';
import type { LinkEnv } from '../../../widget/src/socket';
import type { FlowPreview } from '../api/automation';

export function memoryStore(init: Record<string, string>): Store {
  const data: Record<string, string> = { ...init };
  return {
    get: (k) => (k in data ? data[k] : null),
    set: (k, v) => {
      if (v === null) delete data[k];
      else data[k] = v;
    },
  };
}

const browserEnv: LinkEnv = {
  open: (url) => new WebSocket(url),
  online: () => navigator.onLine !== false,
  random: Math.random,
};

/** Connects to `/ws/visitor?key=<widget_key>&token=<visitor_token>` on this origin. */
export function previewClient(preview: FlowPreview, origin = window.location.origin, env: LinkEnv = browserEnv): Client {
  const client = new Client({ server: origin, key: preview.widget_key, store: memoryStore({ token: preview.visitor_token }), env });
  client.chat.setOpen(true);
  return client;
}
