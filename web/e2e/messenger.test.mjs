// End-to-end: a Facebook Page connected through the console, against the real server and the
// fake Graph API (tests/fake_graph.py, a real process). A person's message arrives as a signed
// webhook, shows live in the agent's console, the agent replies from the composer, and the fake
// receives a Send API call with messaging_type RESPONSE. Every wait is bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { startServer, startFakeGraph, launchBrowser, login, until, sleep, WAIT, restClient } from './harness.mjs';

const SHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname;
const PAGE_ID = '100200300400';
const PAGE_NAME = 'Acme Support';
const PAGE_TOKEN = 'EAAB-e2e-page-token';
const APP_ID = '555000111';
const APP_SECRET = 'e2e-app-secret';
const VERIFY_TOKEN = 'e2e-verify-token';
const PSID = 'psid-e2e-1';
let graph, server, browser, api, agent;

async function openConsole() {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await login(page, server.url, server.email, server.password);
  return { ctx, page };
}

/** POSTs a webhook the way Meta does: the raw body signed with the app secret. */
async function postWebhook(payload, secret = APP_SECRET) {
  const raw = JSON.stringify(payload);
  const sig = 'sha256=' + createHmac('sha256', secret).update(raw).digest('hex');
  const res = await fetch(`${server.url}/webhooks/messenger`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig },
    body: raw,
  });
  return res.status;
}

function messageEvent(psid, mid, text, ts = Date.now()) {
  return {
    object: 'page',
    entry: [{ id: PAGE_ID, time: ts, messaging: [{ sender: { id: psid }, recipient: { id: PAGE_ID }, timestamp: ts, message: { mid, text } }] }],
  };
}

async function messengerChannel() {
  const { status, body } = await api.call('GET', `/api/projects/${api.pid}/channels`);
  assert.equal(status, 200);
  return body.find((c) => c.kind === 'messenger' && c.messenger?.page_id === PAGE_ID);
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  graph = await startFakeGraph();
  await graph.control('POST', 'pages', { page_id: PAGE_ID, token: PAGE_TOKEN, name: PAGE_NAME });
  await graph.control('POST', 'profiles', { psid: PSID, first_name: 'Ada', last_name: 'Lovelace' });
  server = await startServer({ env: { SWITCHBOARD_GRAPH_BASE_URL: graph.baseUrl } });
  // Like Meta: every accepted send is echoed back to the webhook, signed, with our metadata.
  await graph.control('POST', 'echo', { page_id: PAGE_ID, webhook_url: `${server.url}/webhooks/messenger`, app_secret: APP_SECRET, app_id: APP_ID, mode: 'after_response' });
  browser = await launchBrowser();
  api = await restClient(server.url, server.email, server.password);
});

after(async () => {
  await agent?.ctx.close();
  await browser?.close();
  await server?.stop();
  await graph?.stop();
});

test('an admin connects a Page in Settings › Channels › Messenger; secrets are write-only', async () => {
  agent = await openConsole();
  const { page } = agent;
  await page.getByTestId('nav-settings').click();
  await page.getByTestId('settings-nav-messenger').click();
  await page.getByTestId('messenger-page').waitFor({ timeout: WAIT });
  await page.getByTestId('mx-connect').click();
  await page.getByTestId('mx-page-id').fill(PAGE_ID);
  await page.getByTestId('mx-page-name').fill(PAGE_NAME);
  await page.getByTestId('mx-page-token').fill(PAGE_TOKEN);
  await page.getByTestId('mx-app-id').fill(APP_ID);
  await page.getByTestId('mx-app-secret').fill(APP_SECRET);
  await page.getByTestId('mx-verify-token').fill(VERIFY_TOKEN);
  for (const id of ['mx-page-token', 'mx-app-secret', 'mx-verify-token']) {
    assert.equal(await page.getByTestId(id).getAttribute('type'), 'password');
  }
  await page.getByTestId('mx-save').click();
  const card = page.getByTestId('mx-page').filter({ hasText: PAGE_NAME });
  await card.waitFor({ timeout: WAIT });
  await card.getByTestId('mx-health').filter({ hasText: 'Connected' }).waitFor({ timeout: WAIT });
  for (const id of ['mx-has-page-token', 'mx-has-app-secret', 'mx-has-verify-token']) {
    assert.equal(await card.getByTestId(id).innerText(), 'set');
  }
  const url = await card.getByTestId('mx-webhook-url').innerText();
  assert.match(url, /\/webhooks\/messenger$/);

  // No secret anywhere: not on the page, not in the API.
  const html = await page.content();
  for (const secret of [PAGE_TOKEN, APP_SECRET, VERIFY_TOKEN]) assert.ok(!html.includes(secret), `the page shows ${secret}`);
  const ch = await messengerChannel();
  assert.ok(ch, 'the channel is listed');
  const json = JSON.stringify(ch);
  for (const secret of [PAGE_TOKEN, APP_SECRET, VERIFY_TOKEN]) assert.ok(!json.includes(secret), `the API returns ${secret}`);
  assert.equal(ch.health, 'connected');

  // Editing shows empty secret fields ("unchanged").
  await card.getByTestId('mx-edit').click();
  for (const id of ['mx-page-token', 'mx-app-secret', 'mx-verify-token']) assert.equal(await page.getByTestId(id).inputValue(), '');
  await page.getByTestId('mx-cancel').click();

  // Contact sync of a few existing conversations, with live progress.
  await graph.control('POST', 'conversations', { page_id: PAGE_ID, count: 3 });
  await card.getByTestId('mx-sync-recent').click();
  const job = card.getByTestId('mx-job');
  await job.waitFor({ timeout: WAIT });
  await until('the sync to finish', async () => (await job.getAttribute('data-state')) === 'done', 60_000);
  const counters = card.getByTestId('mx-job-counters');
  assert.equal(await counters.getAttribute('data-conversations'), '3');
  assert.equal(await counters.getAttribute('data-contacts'), '3');
  await page.screenshot({ path: `${SHOTS}messenger-settings.png`, fullPage: true });
});

test('a message to the Page shows live in the console; the reply goes out as RESPONSE', async () => {
  assert.ok(agent, 'the previous test connected the Page');
  const { page } = agent;
  await page.getByTestId('nav-inbox').click();
  await page.getByTestId('tab-unassigned').click();

  const mid = `m-e2e-${Date.now()}`;
  assert.equal(await postWebhook(messageEvent(PSID, mid, 'Hello from Messenger')), 200);
  // A wrong signature is refused and stores nothing.
  assert.equal(await postWebhook(messageEvent(PSID, `${mid}-forged`, 'forged'), 'not-the-secret'), 401);

  const ch = await messengerChannel();
  const session = await until('a Messenger session for the person', async () => {
    const { body } = await api.call('GET', `/api/projects/${api.pid}/sessions?status=unassigned&limit=50`);
    return body.items.find((s) => s.channel_id === ch.id && s.message_count >= 1 && s.contact_name.includes('Ada'));
  });
  const item = page.locator(`[data-testid="chat-item"][data-session-id="${session.id}"]`);
  await item.waitFor({ timeout: WAIT });
  await item.click();
  await page.getByTestId('message').filter({ hasText: 'Hello from Messenger' }).waitFor({ timeout: WAIT });
  assert.equal(await page.getByTestId('message').filter({ hasText: 'forged' }).count(), 0);
  const bar = page.getByTestId('reply-window');
  await bar.filter({ hasText: 'Reply window:' }).waitFor({ timeout: WAIT });
  assert.equal(await bar.getAttribute('data-state'), 'open');
  assert.match(await page.getByTestId('reply-window-text').innerText(), /^Reply window: (23 h 59 min|24 h) left$/);

  const reply = 'Hi Ada! How can we help?';
  await page.getByTestId('composer').fill(reply);
  await page.getByTestId('composer').press('Enter');

  const sent = await until('the fake Graph API to get the reply', async () => {
    const reqs = await graph.control('GET', 'requests?endpoint=send');
    return reqs.find((r) => r.body?.message?.text === reply);
  });
  assert.equal(sent.method, 'POST');
  assert.equal(sent.body.messaging_type, 'RESPONSE');
  assert.equal(sent.body.recipient.id, PSID);
  assert.equal(sent.body.tag ?? null, null);
  assert.match(sent.body.message.metadata ?? '', /^sb:\d+$/);

  // The reply shows with a tick once the Send API accepted it.
  const mine = page.getByTestId('message').filter({ hasText: reply });
  await until('the reply to show as sent', async () => {
    const state = await mine.first().getByTestId('delivery').getAttribute('data-state', { timeout: 500 }).catch(() => null);
    return state === 'sent' || state === 'delivered' || state === 'read';
  });

  // The fake echoes the send ~50 ms after answering it. Webhook events of one person are
  // processed in order, so once a later message from Ada shows, the echo has been handled:
  // it must have been matched to our reply, not stored as a second message.
  await sleep(1000);
  assert.equal(await postWebhook(messageEvent(PSID, `${mid}-2`, 'Thanks!')), 200);
  await page.getByTestId('message').filter({ hasText: 'Thanks!' }).waitFor({ timeout: WAIT });
  assert.equal(await mine.count(), 1, 'the reply shows once');
  assert.equal(await page.getByTestId('off-platform').count(), 0, 'our own echo is not an off-platform reply');
  const { body: msgs } = await api.call('GET', `/api/projects/${api.pid}/sessions/${session.id}/messages`);
  assert.equal(msgs.items.filter((m) => m.text === reply).length, 1, 'the reply is stored once');
  assert.equal(msgs.items.filter((m) => m.text === 'Hello from Messenger').length, 1);
  await page.screenshot({ path: `${SHOTS}messenger-chat.png` });
});
