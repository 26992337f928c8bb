// End-to-end: robot hosting in two open consoles. The owner switches one chat's hosting in the
// chat header, a selection in Select mode and every assigned session with "Switch all hosting";
// an agent's console shows the Hosted badges and the system lines live. Then Settings › Robot
// hosting. Real server, real browser, visitors in the widget.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launchBrowser, login, until, WAIT, restClient } from './harness.mjs';

const SHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname;
let server, browser, api;
const amy = { email: 'amy.hosting@example.com', password: 'password123' };

async function newestSessionId() {
  const { body } = await api.call('GET', `/api/projects/${api.pid}/sessions?limit=1`);
  return body.items[0]?.id;
}

/** A visitor on the demo page (its own browser context, so its own identity) who writes once. */
async function visitorSession(text) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await page.goto(`${server.url}/demo`);
  await page.getByTestId('sb-launcher').click({ timeout: WAIT });
  await page.getByTestId('sb-status').filter({ hasText: 'Online' }).waitFor({ timeout: WAIT });
  const before = await newestSessionId();
  await page.getByTestId('sb-input').fill(text);
  await page.getByTestId('sb-input').press('Enter');
  const sessionId = await until("the visitor's session", async () => {
    const sid = await newestSessionId();
    return sid !== before && sid;
  });
  return { sessionId, page, close: () => ctx.close() };
}

async function openAgent(email, password) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await login(page, server.url, email, password);
  return { ctx, page };
}

const row = (page, sid) => page.locator(`[data-testid="chat-item"][data-session-id="${sid}"]`);
const hostedBadge = (page, sid) => row(page, sid).getByTestId('chat-item-hosted');
const systemLines = (page) => page.locator('[data-testid="message"][data-sender="system"]');

async function session(sid) {
  const { status, body } = await api.call('GET', `/api/projects/${api.pid}/sessions/${sid}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

/** The system lines stored for a session, oldest first. */
async function storedSystemLines(sid) {
  const { body } = await api.call('GET', `/api/projects/${api.pid}/sessions/${sid}/messages?limit=100`);
  return body.items.filter((m) => m.sender === 'system').map((m) => m.text);
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
  api = await restClient(server.url, server.email, server.password);
  // The builtin agent role sees every session (data scope all) but has no project.manage.
  const added = await api.call('POST', `/api/projects/${api.pid}/members`, {
    email: amy.email, display_name: 'Amy Agent', password: amy.password, role: 'agent',
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('robot hosting switched in one console shows live in another: one chat, a selection, all assigned', async () => {
  const owner = await openAgent(server.email, server.password);
  const agent = await openAgent(amy.email, amy.password);
  for (const p of [owner.page, agent.page]) await p.getByTestId('tab-all').click();

  const v1 = await visitorSession('Hello, is anyone there?');
  const v2 = await visitorSession('Second visitor here');
  const v3 = await visitorSession('Third visitor, hi');
  const [s1, s2, s3] = [v1.sessionId, v2.sessionId, v3.sessionId];
  for (const p of [owner.page, agent.page]) for (const sid of [s1, s2, s3]) await row(p, sid).waitFor({ timeout: WAIT });

  // Amy has the first chat open, so its system line has to arrive over her socket.
  await row(agent.page, s1).click();
  await agent.page.getByTestId('message').filter({ hasText: 'Hello, is anyone there?' }).waitFor({ timeout: WAIT });
  assert.equal(await agent.page.getByTestId('hosting-switch').isChecked(), false);
  assert.equal(await agent.page.getByTestId('hosted-badge').count(), 0);

  // 1. The owner takes the chat and switches hosting on in the chat header.
  await row(owner.page, s1).click();
  await owner.page.getByTestId('take').click();
  await owner.page.getByTestId('session-status').filter({ hasText: 'assigned' }).waitFor({ timeout: WAIT });
  const ownerSwitch = owner.page.getByTestId('hosting-switch');
  assert.equal(await ownerSwitch.isChecked(), false);
  await ownerSwitch.click();
  await until('the owner\'s switch is on', () => ownerSwitch.isChecked());
  await owner.page.getByTestId('hosted-badge').waitFor({ timeout: WAIT });
  await systemLines(owner.page).filter({ hasText: /robot hosting on/i }).waitFor({ timeout: WAIT });

  // Amy's console follows without a reload: header switch and badge, the row's badge, the line.
  await agent.page.getByTestId('hosted-badge').waitFor({ timeout: WAIT });
  await until("Amy's switch is on", () => agent.page.getByTestId('hosting-switch').isChecked());
  await hostedBadge(agent.page, s1).waitFor({ timeout: WAIT });
  const line = systemLines(agent.page).filter({ hasText: /robot hosting on/i });
  await line.waitFor({ timeout: WAIT });
  assert.equal(await line.count(), 1);
  // A system note is centered, not a bubble on either side.
  assert.equal(await line.evaluate((el) => getComputedStyle(el).alignSelf), 'center');
  assert.equal(await hostedBadge(agent.page, s2).count(), 0);
  assert.equal((await session(s1)).bot_hosted, true);

  // 2. A second chat is hosted already (through the API); the owner selects all three and
  // switches hosting off in one go.
  const put = await api.call('PUT', `/api/projects/${api.pid}/sessions/${s2}/hosting`, { hosted: true });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  await hostedBadge(owner.page, s2).waitFor({ timeout: WAIT });
  await hostedBadge(agent.page, s2).waitFor({ timeout: WAIT });

  await owner.page.getByTestId('select-mode').click();
  for (const sid of [s1, s2, s3]) await owner.page.locator(`[data-testid="chat-item-select"][data-session-id="${sid}"]`).check();
  await owner.page.getByTestId('selection-count').filter({ hasText: '3 selected' }).waitFor({ timeout: WAIT });
  await owner.page.getByTestId('selection-hosting-off').click();
  await owner.page.getByTestId('hosting-result').filter({ hasText: '2 switched off, 1 already off, 0 ended' }).waitFor({ timeout: WAIT });
  // The selection is cleared after the switch.
  await owner.page.getByTestId('selection-count').filter({ hasText: '0 selected' }).waitFor({ timeout: WAIT });
  for (const sid of [s1, s2, s3]) {
    assert.equal(await owner.page.locator(`[data-testid="chat-item-select"][data-session-id="${sid}"]`).isChecked(), false);
  }
  await owner.page.getByTestId('select-done').click();

  for (const sid of [s1, s2]) await hostedBadge(agent.page, sid).waitFor({ state: 'detached', timeout: WAIT });
  await agent.page.getByTestId('hosted-badge').waitFor({ state: 'detached', timeout: WAIT });
  await systemLines(agent.page).filter({ hasText: /robot hosting off/i }).waitFor({ timeout: WAIT });
  for (const sid of [s1, s2, s3]) assert.equal((await session(sid)).bot_hosted, false, `session ${sid}`);

  // 3. "Switch all hosting" on: the assigned chats (s1 and, taken through the API, s2), not the
  // unassigned third one. Cancelling the confirmation changes nothing.
  const take = await api.call('POST', `/api/projects/${api.pid}/sessions/${s2}/take`);
  assert.equal(take.status, 200, JSON.stringify(take.body));
  await owner.page.getByTestId('hosting-all-on').click();
  await owner.page.getByTestId('hosting-all-confirm').waitFor({ timeout: WAIT });
  await owner.page.getByTestId('hosting-all-confirm-no').click();
  await owner.page.getByTestId('hosting-all-confirm').waitFor({ state: 'detached', timeout: WAIT });
  assert.equal((await session(s1)).bot_hosted, false);

  await owner.page.getByTestId('hosting-all-on').click();
  await owner.page.getByTestId('hosting-all-confirm-yes').click();
  await owner.page.getByTestId('hosting-result').filter({ hasText: 'Hosting switched on for 2 assigned sessions.' }).waitFor({ timeout: WAIT });
  for (const p of [owner.page, agent.page]) for (const sid of [s1, s2]) await hostedBadge(p, sid).waitFor({ timeout: WAIT });
  assert.equal(await hostedBadge(agent.page, s3).count(), 0);
  await agent.page.getByTestId('hosted-badge').waitFor({ timeout: WAIT });
  await until('Amy sees the three system lines of the first chat', async () => (await systemLines(agent.page).count()) === 3);
  assert.equal((await session(s3)).bot_hosted, false);

  // Every change was recorded as a system line in the chat, in order.
  const lines = await storedSystemLines(s1);
  assert.equal(lines.length, 3, JSON.stringify(lines));
  assert.match(lines[0], /robot hosting on/i);
  assert.match(lines[1], /robot hosting off/i);
  assert.match(lines[2], /robot hosting on/i);

  await owner.page.screenshot({ path: `${SHOTS}robot-hosting.png` });
  for (const c of [owner.ctx, agent.ctx]) await c.close();
  for (const v of [v1, v2, v3]) await v.close();
});

test('Settings › Robot hosting: the owner saves the switches, an agent sees them read-only', async () => {
  const owner = await openAgent(server.email, server.password);
  await owner.page.goto(`${server.url}/settings/hosting`);
  const fresh = owner.page.getByTestId('hosting-new-sessions');
  await fresh.waitFor({ timeout: WAIT });
  assert.equal(await fresh.isChecked(), false);
  assert.equal(await owner.page.getByTestId('hosting-reply-handoff').isChecked(), true);
  await fresh.click();
  await owner.page.getByTestId('hosting-settings-save').click();
  await owner.page.getByTestId('hosting-settings-saved').waitFor({ timeout: WAIT });
  const stored = await api.call('GET', `/api/projects/${api.pid}/settings/hosting`);
  assert.deepEqual(stored.body, { new_sessions_hosted: true, agent_reply_hands_off: true });

  // A session opened from now on starts hosted: its row carries the badge at once.
  await owner.page.getByTestId('nav-inbox').click();
  await owner.page.getByTestId('tab-all').click();
  const v = await visitorSession('Opened while hosting is the default');
  await hostedBadge(owner.page, v.sessionId).waitFor({ timeout: WAIT });
  assert.equal((await session(v.sessionId)).bot_hosted, true);
  await v.close();

  // The agent (no project.manage) reads the same values and cannot change them.
  const agent = await openAgent(amy.email, amy.password);
  await agent.page.goto(`${server.url}/settings/hosting`);
  await agent.page.getByTestId('hosting-settings-readonly').waitFor({ timeout: WAIT });
  assert.equal(await agent.page.getByTestId('hosting-new-sessions').isChecked(), true);
  assert.equal(await agent.page.getByTestId('hosting-new-sessions').isDisabled(), true);
  assert.equal(await agent.page.getByTestId('hosting-settings-save').count(), 0);

  const reset = await api.call('PATCH', `/api/projects/${api.pid}/settings/hosting`, { new_sessions_hosted: false });
  assert.equal(reset.status, 200, JSON.stringify(reset.body));
  await owner.ctx.close();
  await agent.ctx.close();
});
