// End-to-end: Settings › Team changes a role, and a member's open console follows at once —
// the server closes its socket with 4003, the console reconnects under the new data scope and
// reloads what the member may do. Real server, real browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, login, until, WAIT, restClient } from './harness.mjs';

let server, browser, api;

/** A visitor on the demo page (its own browser context, so its own identity). */
async function visitorSession(text) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await page.goto(`${server.url}/demo`);
  await page.getByTestId('sb-launcher').click({ timeout: WAIT });
  await page.getByTestId('sb-status').filter({ hasText: 'Online' }).waitFor({ timeout: WAIT });
  const say = async (t) => {
    await page.getByTestId('sb-input').fill(t);
    await page.getByTestId('sb-input').press('Enter');
  };
  const before = await newestSessionId();
  await say(text);
  const sessionId = await until('the visitor\'s session', async () => {
    const sid = await newestSessionId();
    return sid !== before && sid;
  });
  return { sessionId, say, close: () => ctx.close() };
}

async function newestSessionId() {
  const { body } = await api.call('GET', `/api/projects/${api.pid}/sessions?limit=1`);
  return body.items[0]?.id;
}

async function openAgent(email, password) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await login(page, server.url, email, password);
  return { ctx, page };
}

const row = (page, sid) => page.locator(`[data-testid="chat-item"][data-session-id="${sid}"]`);

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  api = await restClient(server.url, server.email, server.password);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('editing a role in Settings › Team changes an open console at once: data scope and permissions', async () => {
  const amy = { email: 'amy@example.com', password: 'password123' };
  const added = await api.call('POST', `/api/projects/${api.pid}/members`, {
    email: amy.email, display_name: 'Amy Agent', password: amy.password, role: 'agent',
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  const amyId = added.body.id;
  const { body: meBody } = await api.call('GET', '/api/me');
  const ownerId = meBody.user.id;

  // Two sessions: one assigned to the owner, one to Amy.
  const v1 = await visitorSession('For the owner');
  const v2 = await visitorSession('For Amy');
  for (const [sid, uid] of [[v1.sessionId, ownerId], [v2.sessionId, amyId]]) {
    const r = await api.call('POST', `/api/projects/${api.pid}/sessions/${sid}/assign`, { user_id: uid });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }

  // Amy (builtin Agent role: data scope all, no team.manage) sees both; Team is read-only.
  const a = await openAgent(amy.email, amy.password);
  await a.page.getByTestId('tab-all').click();
  await row(a.page, v1.sessionId).waitFor({ timeout: WAIT });
  await row(a.page, v2.sessionId).waitFor({ timeout: WAIT });
  const amyTeam = await a.ctx.newPage();
  await amyTeam.goto(`${server.url}/settings/team`);
  await amyTeam.getByTestId('team-readonly').waitFor({ timeout: WAIT });
  await amyTeam.close();

  // The owner edits the Agent role: data scope "my data" and team management.
  const o = await openAgent(server.email, server.password);
  await o.page.goto(`${server.url}/settings/team`);
  const agentRole = o.page.getByTestId('role-row').filter({ hasText: /agent/i }).first();
  await agentRole.getByTestId('role-edit').click();
  const editor = o.page.getByTestId('role-editor');
  await editor.getByTestId('scope-own').check();
  await editor.getByTestId('perm-team.manage').check();
  await editor.getByTestId('role-save').click();
  await o.page.getByTestId('team-notice').waitFor({ timeout: WAIT });

  // Amy's console, without a reload: the owner's session leaves her list, hers stays.
  await row(a.page, v1.sessionId).waitFor({ state: 'detached', timeout: WAIT });
  await row(a.page, v2.sessionId).waitFor({ timeout: WAIT });
  await a.page.getByTestId('connection-status').filter({ hasText: 'Connected' }).waitFor({ timeout: WAIT });
  const roles = await api.call('GET', `/api/projects/${api.pid}/roles`);
  const agent = roles.body.find((r) => r.name === 'agent');
  assert.equal(agent.data_scope, 'own');
  assert.ok(agent.permissions.includes('team.manage'));

  // New activity in the owner's session does not reach her; activity in hers does.
  await v1.say('Only the owner should see this');
  await v2.say('Amy should see this');
  await row(a.page, v2.sessionId).click();
  await a.page.getByTestId('message').filter({ hasText: 'Amy should see this' }).waitFor({ timeout: WAIT });
  assert.equal(await row(a.page, v1.sessionId).count(), 0);

  // Her permissions were reloaded too: in-app navigation to Settings › Team (no page load)
  // shows the members as editable.
  await a.page.getByTestId('nav-settings').click();
  await a.page.getByTestId('settings-nav-team').click();
  await a.page.getByTestId('team-members').waitFor({ timeout: WAIT });
  assert.equal(await a.page.getByTestId('team-readonly').count(), 0);
  assert.ok((await a.page.getByTestId('team-role-select').count()) > 0);

  await v1.close();
  await v2.close();
  await a.ctx.close();
  await o.ctx.close();
});
