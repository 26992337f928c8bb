import { describe, expect, it } from 'vitest';
import { fakeEnv, hello } from '../../../widget/src/fake-socket';
import { previewClient } from './previewClient';

describe('test-run chat', () => {
  it("connects as the preview visitor and clicks a bot message's button as the widget does", () => {
    const env = fakeEnv();
    const client = previewClient({ widget_key: 'wk_9', visitor_token: 'vt_1', contact_id: 3, flow_version_id: 4 }, 'http://127.0.0.1:8080', env);
    client.start();
    const ws = env.sockets[0];
    expect(ws.url).toBe('ws://127.0.0.1:8080/ws/visitor?key=wk_9&token=vt_1');
    ws.push(hello(null, 'vt_1'));
    client.send('hi');
    ws.push({ v: 1, type: 'message', session_id: 5, seq: 2, message_id: 41, sender: 'bot', text: 'Choose', content: { buttons: [{ id: 'a', title: 'A' }] } });
    client.click(41, { id: 'a', title: 'A' });
    const sends = ws.sent.filter((f) => f.type === 'send');
    expect(sends.map((f) => [f.text, f.button ?? null])).toEqual([
      ['hi', null],
      ['A', { message_id: 41, id: 'a' }],
    ]);
    client.link.stop();
    expect(ws.closed).toBe(true);
  });
});
