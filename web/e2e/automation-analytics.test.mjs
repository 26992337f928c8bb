// End-to-end: automation analytics. The owner publishes a flow over the API (a message with a
// "Yes" button that leads to an End step); two visitors go through it in the widget — one clicks
// the button (participates and completes), one only triggers it. The Data view shows 2 trigger
// times, 2 triggered visitors, participation 50% (1/2) and completion 50% (1/2), and moves to 3
// when a third visitor triggers, without a reload (the `flow_stats` frame). The drill-down lists
// the visitors with their statuses, and a click opens the visitor's chat in the inbox. The
// funnel shows the counts on the graph and as bars. Real server, real browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launchBrowser, login, until, WAIT, restClient } from './harness.mjs';

const SHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname;
const OFFER = 'Would you like a short tour?';
const DONE = 'Here you go: the tour starts now.';
let server, browser, api, flowId;
const contexts = [];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
  api = await restClient(server.url, server.email, server.password);
  const draft = {
    trigger: { kind: 'first_message' },
    conditions: { channels: [], session_states: [], contact_label: null, note_name_present: null },
    start: 'offer',
    steps: [
      { id: 'offer', type: 'message', text: OFFER, buttons: [{ id: 'yes', title: 'Yes' }], position: { x: 0, y: 0 } },
      { id: 'done', type: 'end', text: DONE, position: { x: 320, y: 0 } },
    ],
    edges: [{ from: 'offer', port: 'yes', to: 'done' }],
  };
  const created = await api.call('POST', `/api/projects/${api.pid}/flows`, { name: 'Tour offer', draft });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  flowId = created.body.id;
  const published = await api.call('POST', `/api/projects/${api.pid}/flows/${flowId}/publish`);
  assert.equal(published.status, 200, JSON.stringify(published.body));
  const enabled = await api.call('PATCH', `/api/projects/${api.pid}/flows/${flowId}`, { enabled: true });
  assert.equal(enabled.status, 200, JSON.stringify(enabled.body));
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await server?.stop();
});

/** A new visitor on the demo page writes `text`; the flow's offer arrives. */
async function visitorTriggers(text) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(ctx);
  const page = await ctx.newPage();
  await page.goto(`${server.url}/demo`);
  await page.getByTestId('sb-launcher').click({ timeout: WAIT });
  await page.getByTestId('sb-status').filter({ hasText: 'Online' }).waitFor({ timeout: WAIT });
  await page.getByTestId('sb-input').fill(text);
  await page.getByTestId('sb-input').press('Enter');
  const offer = page.locator('[data-testid="sb-message"][data-sender="bot"]').filter({ hasText: OFFER });
  await offer.waitFor({ timeout: WAIT });
  return { page, offer };
}

const row = (page) => page.locator(`[data-testid="flow-stats-row"][data-flow-id="${flowId}"]`);
const cell = (page, testId) => row(page).getByTestId(testId);

/** Waits until the flow's row reads these figures. */
async function figures(page, want) {
  await until(`the figures ${JSON.stringify(want)}`, async () => {
    const got = {
      times: (await cell(page, 'stat-trigger-times').innerText()).trim(),
      visitors: (await cell(page, 'stat-triggered-visitors').innerText()).trim(),
      participation: (await cell(page, 'stat-participation').innerText()).trim(),
      completion: (await cell(page, 'stat-completion').innerText()).trim(),
    };
    return JSON.stringify(got) === JSON.stringify(want) ? got : false;
  });
}

test('the Data view counts two visitors, moves live with a third, drills down to the visitors and into a chat; the funnel', async () => {
  // Visitor 1 clicks "Yes": participates and completes. Visitor 2 only triggers the flow.
  const first = await visitorTriggers('hi, first visitor here');
  await first.offer.getByTestId('sb-button').filter({ hasText: 'Yes' }).click();
  await first.page.locator('[data-testid="sb-message"][data-sender="bot"]').filter({ hasText: DONE }).waitFor({ timeout: WAIT });
  await visitorTriggers('hello from the second visitor');

  // The API's figures, as the contract defines them.
  const { body: stats } = await api.call('GET', `/api/projects/${api.pid}/automation/stats`);
  const mine = stats.flows.find((f) => f.flow_id === flowId);
  assert.deepEqual(
    { t: mine.trigger_times, v: mine.triggered_visitors, p: mine.participants, c: mine.completed_visitors, pr: mine.participation, cr: mine.completion_rate },
    { t: 2, v: 2, p: 1, c: 1, pr: 0.5, cr: 0.5 },
  );

  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  contexts.push(ctx);
  const page = await ctx.newPage();
  await login(page, server.url, server.email, server.password);
  await page.getByTestId('nav-automation').click();
  await page.getByTestId('automation-page').waitFor({ timeout: WAIT });
  await page.getByTestId('automation-tab-data').click();
  await page.getByTestId('flow-stats').waitFor({ timeout: WAIT });
  assert.match(page.url(), /\/automation\/data$/);
  await page.getByTestId('data-range-today').click();
  assert.equal(await page.getByTestId('data-range-today').getAttribute('aria-pressed'), 'true');
  await figures(page, { times: '2', visitors: '2', participation: '50% (1/2)', completion: '50% (1/2)' });
  await row(page).getByTestId('flow-compare').check();
  await page.getByTestId('compare-panel').waitFor({ timeout: WAIT });
  await page.screenshot({ path: `${SHOTS}flow-data.png` });

  // A third visitor triggers: the open page moves without a reload.
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  await visitorTriggers('a third visitor says hi');
  await figures(page, { times: '3', visitors: '3', participation: '33% (1/3)', completion: '33% (1/3)' });
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');

  // The drill-down: each visitor with their status (the one who clicked has completed).
  await cell(page, 'stat-triggered-visitors').click();
  await page.getByTestId('flow-visitors').waitFor({ timeout: WAIT });
  assert.match(page.url(), new RegExp(`/automation/data/${flowId}/visitors$`));
  const rows = page.getByTestId('visitor-row');
  await until('three visitors listed', async () => (await rows.count()) === 3);
  const statuses = (await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-status')))).sort();
  assert.deepEqual(statuses, ['completed', 'not_participated', 'not_participated']);
  assert.equal(await page.getByTestId('visitors-total').getAttribute('data-total'), '3');
  const completed = page.locator('[data-testid="visitor-row"][data-status="completed"]');
  assert.equal((await completed.getByTestId('visitor-status').innerText()).trim(), 'Completed');
  assert.equal((await completed.getByTestId('visitor-triggers').innerText()).trim(), '1');
  // The status filter, and the CSV link with the same filter.
  await page.getByTestId('visitors-status').selectOption('completed');
  await until('only the completed visitor', async () => (await rows.count()) === 1 && (await rows.first().getAttribute('data-status')) === 'completed');
  const csvHref = await page.getByTestId('visitors-export').getAttribute('href');
  assert.match(csvHref, new RegExp(`/flows/${flowId}/visitors\\.csv\\?.*status=completed`));
  const csv = await page.evaluate(async (href) => (await fetch(href)).text(), csvHref);
  assert.match(csv.split('\n')[0], /^contact_id,name,note_name,channel,status,triggers,first_triggered_at,last_triggered_at/);
  assert.equal(csv.trim().split('\n').length, 2, csv);
  await page.getByTestId('visitors-status').selectOption('');
  await until('all three again', async () => (await rows.count()) === 3);
  await page.screenshot({ path: `${SHOTS}flow-visitors.png` });

  // The funnel of version 1: 3 runs reached the offer, one took "Yes" and reached the end.
  await page.getByTestId('open-funnel').click();
  await page.getByTestId('flow-funnel').waitFor({ timeout: WAIT });
  assert.equal(await page.getByTestId('funnel-version').inputValue(), '1');
  const bar = (id) => page.locator(`[data-testid="funnel-bar"][data-step-id="${id}"]`);
  await until('the funnel bars', async () => (await bar('offer').count()) === 1 && (await bar('offer').getAttribute('data-reached')) === '3');
  assert.equal(await bar('done').getAttribute('data-reached'), '1');
  assert.equal(await bar('offer').getAttribute('data-waiting'), '2');
  const offerNode = page.locator('[data-testid="flow-node"][data-step-id="offer"]');
  assert.equal(await offerNode.getByTestId('funnel-node-counts').getAttribute('data-reached'), '3');
  assert.equal((await offerNode.locator('[data-testid="flow-node-port"][data-port="yes"]').getByTestId('funnel-port-taken').innerText()).trim(), '1');
  await page.screenshot({ path: `${SHOTS}flow-funnel.png` });

  // Back to the visitors; a click on the one who completed opens their chat in the inbox.
  await page.getByTestId('open-visitors').click();
  await until('three visitors listed', async () => (await rows.count()) === 3);
  const sid = await completed.getAttribute('data-session-id');
  assert.ok(sid, 'the visitor has a session');
  await completed.getByTestId('visitor-name').click();
  await until('the chat is open', async () => new URL(page.url()).pathname === `/chats/${sid}`);
  await page.getByTestId('session-status').waitFor({ timeout: WAIT });
  await page.locator('[data-testid="message"][data-sender="visitor"]').filter({ hasText: 'hi, first visitor here' }).waitFor({ timeout: WAIT });
  assert.equal(await page.locator('[data-testid="message"][data-sender="visitor"]').filter({ hasText: 'hello from the second visitor' }).count(), 0);
});
