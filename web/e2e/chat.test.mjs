// End-to-end: the real server, the console and the widget in headless Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, startProxy, startPageServer, launchBrowser, login, until, sleep, WAIT, restClient } from './harness.mjs';

const SHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname;
let server, proxy, browser, api;

/** The highest session id of the list's first page (the list is not ordered by id). */
async function newestSessionId() {
  const { body } = await api.call('GET', `/api/projects/${api.pid}/sessions?limit=50`);
  return Math.max(0, ...body.items.map((s) => s.id));
}

async function openVisitor(url) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await page.goto(url);
  await page.getByTestId('sb-launcher').click({ timeout: WAIT });
  await page.getByTestId('sb-status').filter({ hasText: 'Online' }).waitFor({ timeout: WAIT });
  return { ctx, page };
}

async function visitorSays(page, text) {
  await page.getByTestId('sb-input').fill(text);
  await page.getByTestId('sb-input').press('Enter');
}

async function openAgent(base, email, password) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await login(page, base, email, password);
  return { ctx, page };
}

/** Texts of the messages shown, in order, with how often each appears. */
async function shownTexts(page, testId) {
  return page.getByTestId(testId).allInnerTexts();
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  proxy = await startProxy(server.port);
  browser = await launchBrowser();
  api = await restClient(server.url, server.email, server.password);
});

after(async () => {
  await browser?.close();
  proxy?.close();
  await server?.stop();
});

test('the console is served with a strict Content-Security-Policy', async () => {
  const res = await fetch(`${server.url}/`);
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  const widget = await fetch(`${server.url}/widget.js`);
  assert.equal(widget.status, 200);
});

test('a visitor on the demo page and an agent chat live, then the agent socket is cut and restored', async () => {
  // The agent reaches the server through the proxy, so the test can cut its connection.
  const agent = await openAgent(proxy.url, server.email, server.password);
  const visitor = await openVisitor(`${server.url}/demo`);

  await visitorSays(visitor.page, 'Hello from the demo page');
  const item = agent.page.getByTestId('chat-item').first();
  await item.waitFor({ timeout: WAIT });
  await until('an unread badge', async () => Number(await item.getAttribute('data-unread')) >= 1);
  await item.click();
  await agent.page.getByTestId('message').filter({ hasText: 'Hello from the demo page' }).waitFor({ timeout: WAIT });

  await agent.page.getByTestId('composer').fill('Hi! How can I help?');
  await agent.page.getByTestId('composer').press('Enter');
  await visitor.page.getByTestId('sb-message').filter({ hasText: 'Hi! How can I help?' }).waitFor({ timeout: WAIT });
  assert.equal(await visitor.page.getByTestId('sb-message').filter({ hasText: 'Hi! How can I help?' }).getAttribute('data-sender'), 'agent');

  // Typing shows on both sides.
  await visitor.page.getByTestId('sb-input').pressSequentially('I am typ', { delay: 30 });
  await agent.page.getByTestId('typing-indicator').waitFor({ timeout: WAIT });
  await agent.page.getByTestId('composer').pressSequentially('Let me che', { delay: 30 });
  await visitor.page.getByTestId('sb-typing').waitFor({ timeout: WAIT });
  await visitor.page.getByTestId('sb-input').fill('');
  await agent.page.getByTestId('composer').fill('');

  // The list on the tab the chat now belongs to (it left Unassigned when the agent replied).
  await agent.page.getByTestId('tab-mine').click();
  await agent.page.locator('[data-testid="chat-item"]').first().waitFor({ timeout: WAIT });
  await agent.page.screenshot({ path: `${SHOTS}console.png` });
  await visitor.page.screenshot({ path: `${SHOTS}widget.png` });

  // Cut the agent's connections and keep the network down for a while.
  const outage = proxy.outage(2500);
  await agent.page.getByTestId('connection-status').filter({ hasText: 'Reconnecting' }).waitFor({ timeout: WAIT });
  await visitorSays(visitor.page, 'Are you still there?');
  await visitorSays(visitor.page, 'Hello??');
  await agent.page.getByTestId('composer').fill('Sorry, my connection dropped');
  await agent.page.getByTestId('composer').press('Enter');
  await agent.page.screenshot({ path: `${SHOTS}console-reconnecting.png` });
  await outage;
  await agent.page.getByTestId('connection-status').filter({ hasText: 'Connected' }).waitFor({ timeout: WAIT });

  // Everything arrives, once, in order, on both sides.
  const expectAgent = ['Hello from the demo page', 'Hi! How can I help?', 'Are you still there?', 'Hello??', 'Sorry, my connection dropped'];
  await until('agent sees the whole conversation once', async () => {
    const texts = await shownTexts(agent.page, 'message');
    return expectAgent.every((t) => texts.filter((x) => x.includes(t)).length === 1) && texts.length === expectAgent.length;
  });
  await until('the agent message is acknowledged', async () => (await agent.page.locator('[data-testid="message"][data-pending="true"]').count()) === 0);
  await until('visitor sees the whole conversation once', async () => {
    const texts = await shownTexts(visitor.page, 'sb-message');
    return expectAgent.every((t) => texts.filter((x) => x.includes(t)).length === 1);
  });
  const seqs = await agent.page.getByTestId('message').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
  assert.deepEqual(seqs, [1, 2, 3, 4, 5]);
  const sid = await newestSessionId();
  const { body } = await api.call('GET', `/api/projects/${api.pid}/sessions/${sid}/messages`);
  assert.equal(body.items.length, 5, 'five rows stored, no duplicate');
  await agent.ctx.close();
  await visitor.ctx.close();
});

test('two agents see the same session update live', async () => {
  const r = await api.call('POST', `/api/projects/${api.pid}/members`, {
    email: 'second@example.com', display_name: 'Second Agent', password: 'password123', role: 'agent',
  });
  assert.equal(r.status, 201);
  const a = await openAgent(server.url, server.email, server.password);
  const b = await openAgent(server.url, 'second@example.com', 'password123');
  for (const p of [a.page, b.page]) await p.getByTestId('tab-unassigned').click();

  const visitor = await openVisitor(`${server.url}/demo`);
  const before = await newestSessionId();
  await visitorSays(visitor.page, 'Two agents, one question');
  const sid = await until('the new session id', async () => {
    const id = await newestSessionId();
    if (id <= before) return false;
    const { body } = await api.call('GET', `/api/projects/${api.pid}/sessions/${id}`);
    return body.message_count === 1 && id;
  });
  const row = (p) => p.locator(`[data-testid="chat-item"][data-session-id="${sid}"]`);
  await row(a.page).waitFor({ timeout: WAIT });
  await row(b.page).waitFor({ timeout: WAIT });

  // Agent A takes it: it leaves B's Unassigned tab without a reload.
  await row(a.page).click();
  await a.page.getByTestId('take').click();
  await row(b.page).waitFor({ state: 'detached', timeout: WAIT });
  await b.page.getByTestId('tab-all').click();
  await row(b.page).waitFor({ timeout: WAIT });
  await a.page.getByTestId('tab-mine').click();
  await row(a.page).waitFor({ timeout: WAIT });
  await a.ctx.close();
  await b.ctx.close();
  await visitor.ctx.close();
});

test('visitor text is shown as text in the console, never as HTML', async () => {
  const agent = await openAgent(server.url, server.email, server.password);
  const visitor = await openVisitor(`${server.url}/demo`);
  const evil = '<img src=x onerror="window.__pwned=1"><b>bold?</b>';
  // The visitor's session is a new one: an earlier test's session must not be taken for it.
  const before = await newestSessionId();
  await visitorSays(visitor.page, evil);
  await agent.page.getByTestId('tab-unassigned').click();
  const sid = await until('the session', async () => {
    const id = await newestSessionId();
    if (id <= before) return false;
    const { body } = await api.call('GET', `/api/projects/${api.pid}/sessions/${id}`);
    return body.message_count >= 1 && id;
  });
  await agent.page.locator(`[data-testid="chat-item"][data-session-id="${sid}"]`).click();
  const msg = agent.page.getByTestId('message').filter({ hasText: '<img src=x' });
  await msg.waitFor({ timeout: WAIT });
  assert.equal(await msg.locator('img, b').count(), 0);
  assert.equal(await agent.page.evaluate(() => window.__pwned), undefined);
  await agent.ctx.close();
  await visitor.ctx.close();
});

test('the widget renders and works on a hostile host page', async () => {
  const hostile = `<!doctype html><html><head><title>hostile</title><style>
    * { color: red !important; font-size: 40px !important; display: block !important; margin: 30px !important;
        padding: 20px !important; border: 5px dashed lime !important; background: yellow !important; }
    div { position: absolute !important; top: 0 !important; left: 0 !important; width: 10px !important; }
    button { display: none !important; } input, textarea { visibility: hidden !important; }
    body::after { content: "HOSTILE"; }
  </style></head><body><div>host content</div>
  <script src="${server.url}/widget.js" data-key="${server.widgetKey}" async></script></body></html>`;
  const pages = await startPageServer({ '/hostile.html': hostile });
  try {
    const { ctx, page } = await openVisitor(`${pages.url}/hostile.html`);
    const launcher = page.getByTestId('sb-launcher');
    const box = await launcher.boundingBox();
    assert.ok(box && box.width >= 40 && box.width <= 100 && box.height >= 40 && box.height <= 100, `launcher box ${JSON.stringify(box)}`);
    const input = page.getByTestId('sb-input');
    assert.ok(await input.isVisible());
    await visitorSays(page, 'Hello from a hostile page');
    await until('the message is acknowledged', async () => {
      const m = page.getByTestId('sb-message').filter({ hasText: 'Hello from a hostile page' });
      return (await m.count()) === 1 && (await m.getAttribute('data-pending')) !== 'true';
    });
    const fontSize = await input.evaluate((el) => getComputedStyle(el).fontSize);
    assert.notEqual(fontSize, '40px');
    await page.screenshot({ path: `${SHOTS}widget-hostile-page.png` });
    await ctx.close();
  } finally {
    pages.close();
  }
});
