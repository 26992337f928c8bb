// End-to-end: the flow editor. The owner builds a branching flow in the console with the side
// panel (a message with two buttons; one branch asks for an e-mail address, both end), saves it
// with a port left unconnected and sees the problem on that node, connects it, publishes and
// enables it; a visitor in the widget clicks through it and the agent's chat shows the buttons
// and the click. Then the editor's Test run chats with the draft. Real server, real browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launchBrowser, login, until, WAIT, restClient } from './harness.mjs';

const SHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname;
const GREETING = 'Hi! What can we help you with?';
const QUESTION = 'What is your e-mail address?';
const THANKS = 'Thanks, we will write to you there.';
const HUMAN = 'An agent will answer you shortly.';
let server, browser, api, flowId;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
  api = await restClient(server.url, server.email, server.password);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openConsole() {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  await login(page, server.url, server.email, server.password);
  return { ctx, page };
}

const node = (page, id) => page.locator(`[data-testid="flow-node"][data-step-id="${id}"]`);
const port = (page, p) => page.getByTestId('step-panel').locator(`[data-testid="port-target"][data-port="${p}"]`);

/** Opens a step's settings through the step list (no dragging, no canvas coordinates). */
async function selectStep(page, id) {
  await page.locator(`[data-testid="step-list-item"][data-step-id="${id}"]`).click();
  await page.locator(`[data-testid="step-panel"][data-step-id="${id}"]`).waitFor({ timeout: WAIT });
}

/** Adds a step from the palette; the new step is selected. Answers its id. */
async function addStep(page, type) {
  const before = await page.getByTestId('step-list-item').count();
  await page.getByTestId(`add-step-${type}`).click();
  await until(`the new ${type} step`, async () => (await page.getByTestId('step-list-item').count()) === before + 1);
  const id = await page.getByTestId('step-panel').getAttribute('data-step-id');
  assert.ok(id, 'the new step is selected');
  assert.equal(await node(page, id).getAttribute('data-step-type'), type);
  return id;
}

async function save(page) {
  await page.getByTestId('flow-save').click();
  await page.locator('[data-testid="flow-notice"][data-kind="saved"]').waitFor({ timeout: WAIT });
}

test('the owner builds, validates, publishes and enables a branching flow; a visitor clicks through it in the widget', async () => {
  const { ctx, page } = await openConsole();
  await page.getByTestId('nav-automation').click();
  await page.getByTestId('automation-page').waitFor({ timeout: WAIT });
  await page.getByTestId('flow-new').click();
  await page.getByTestId('flow-new-name').fill('Welcome');
  await page.getByTestId('flow-new-create').click();
  await page.getByTestId('flow-editor').waitFor({ timeout: WAIT });
  flowId = Number(/\/automation\/(\d+)/.exec(page.url())?.[1]);
  assert.ok(flowId, page.url());

  // The new flow's draft: a first-message trigger, a message step, an End step.
  await page.getByTestId('trigger-panel').waitFor({ timeout: WAIT });
  assert.equal(await page.getByTestId('trigger-kind').inputValue(), 'first_message');
  const message = await page.locator('[data-testid="flow-node"][data-step-type="message"]').first().getAttribute('data-step-id');
  const end = await page.locator('[data-testid="flow-node"][data-step-type="end"]').first().getAttribute('data-step-id');
  assert.ok(message && end);
  await node(page, message).getByTestId('flow-node-start').waitFor({ state: 'attached', timeout: WAIT });

  // The message gets a text and two buttons: its one `next` port becomes one port per button.
  await selectStep(page, message);
  await page.getByTestId('step-panel').getByTestId('step-text').fill(GREETING);
  await page.getByTestId('step-add-button').click();
  await page.getByTestId('step-add-button').click();
  await page.getByTestId('step-button-title').nth(0).fill('Pricing');
  await page.getByTestId('step-button-title').nth(1).fill('Support');
  const [pricing, support] = await page.getByTestId('step-button').evaluateAll((els) => els.map((e) => e.getAttribute('data-button-id')));
  assert.ok(pricing && support && pricing !== support);
  assert.equal(await port(page, 'next').count(), 0);
  assert.equal(await port(page, 'other').count(), 1);

  // The default End step thanks the visitor; a second End step is the "Support" branch's.
  await selectStep(page, end);
  await page.getByTestId('step-panel').getByTestId('step-text').fill(THANKS);
  const endHuman = await addStep(page, 'end');
  await page.getByTestId('step-panel').getByTestId('step-text').fill(HUMAN);

  // A question for the e-mail address, saved to the contact: answered → thanks, else → human.
  const question = await addStep(page, 'question');
  await page.getByTestId('step-panel').getByTestId('step-text').fill(QUESTION);
  await page.getByTestId('step-answer').selectOption('email');
  await page.getByTestId('step-save-to').selectOption('email');
  await port(page, 'next').selectOption(end);
  await port(page, 'fallback').selectOption(endHuman);

  // "Pricing" → the question; "Support" left unconnected for now.
  await selectStep(page, message);
  await port(page, pricing).selectOption(question);
  await save(page);
  const problem = node(page, message).getByTestId('flow-node-problem');
  await problem.waitFor({ state: 'attached', timeout: WAIT });
  assert.equal(await problem.getAttribute('data-code'), 'unconnected_port');
  await page.locator(`[data-testid="flow-problem"][data-step="${message}"]`).waitFor({ timeout: WAIT });
  assert.equal(await node(page, question).getByTestId('flow-node-problem').count(), 0);
  // The draft was saved, problems and all.
  const saved = await api.call('GET', `/api/projects/${api.pid}/flows/${flowId}`);
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  assert.ok(saved.body.problems.some((p) => p.step === message), JSON.stringify(saved.body.problems));
  assert.equal(saved.body.draft.steps.find((s) => s.id === question).answer, 'email');

  // Publishing an invalid draft is refused, and the problem stays on the node.
  await page.getByTestId('flow-publish').click();
  await page.locator('[data-testid="flow-notice"][data-kind="error"]').waitFor({ timeout: WAIT });
  await problem.waitFor({ state: 'attached', timeout: WAIT });
  assert.equal((await api.call('GET', `/api/projects/${api.pid}/flows/${flowId}`)).body.published_version, null);

  // Connect "Support", save: no problem left. Publish, enable.
  await port(page, support).selectOption(endHuman);
  await save(page);
  await until('no problem on any node', async () => (await page.getByTestId('flow-node-problem').count()) === 0);
  assert.equal(await page.getByTestId('flow-problem').count(), 0);
  await page.getByTestId('flow-publish').click();
  await page.locator('[data-testid="flow-notice"][data-kind="published"]').waitFor({ timeout: WAIT });
  await page.getByTestId('flow-version').filter({ hasText: 'Published v1' }).waitFor({ timeout: WAIT });
  await page.getByTestId('flow-enabled').click();
  await until('the flow is enabled', () => page.getByTestId('flow-enabled').isChecked());
  const published = await api.call('GET', `/api/projects/${api.pid}/flows/${flowId}`);
  assert.equal(published.body.enabled, true);
  assert.equal(published.body.published_version, 1);
  await page.screenshot({ path: `${SHOTS}flow-editor.png` });

  // The list shows it enabled, at version 1.
  await page.getByTestId('flow-back').click();
  const row = page.locator(`[data-testid="flow-row"][data-flow-id="${flowId}"]`);
  await row.waitFor({ timeout: WAIT });
  assert.equal(await row.getByTestId('flow-row-enabled').isChecked(), true);
  assert.match(await row.getByTestId('flow-row-version').innerText(), /v1/);

  // A visitor on the demo page writes; the flow answers with its buttons.
  const vctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const visitor = await vctx.newPage();
  await visitor.goto(`${server.url}/demo`);
  await visitor.getByTestId('sb-launcher').click({ timeout: WAIT });
  await visitor.getByTestId('sb-status').filter({ hasText: 'Online' }).waitFor({ timeout: WAIT });
  await visitor.getByTestId('sb-input').fill('hi');
  await visitor.getByTestId('sb-input').press('Enter');
  const greeting = visitor.locator('[data-testid="sb-message"][data-sender="bot"]').filter({ hasText: GREETING });
  await greeting.waitFor({ timeout: WAIT });
  const buttons = greeting.getByTestId('sb-button');
  assert.deepEqual(await buttons.allInnerTexts(), ['Pricing', 'Support']);

  // A click is sent as the visitor's message (the button's title); the buttons are spent.
  await buttons.filter({ hasText: 'Pricing' }).click();
  await visitor.locator('[data-testid="sb-message"][data-sender="visitor"]').filter({ hasText: 'Pricing' }).waitFor({ timeout: WAIT });
  await until('the buttons are spent', async () => (await buttons.evaluateAll((els) => els.every((b) => b.disabled))) === true);
  assert.equal(await buttons.filter({ hasText: 'Pricing' }).getAttribute('aria-pressed'), 'true');

  // The question; an e-mail address answers it and the run ends with the thanks.
  await visitor.locator('[data-testid="sb-message"][data-sender="bot"]').filter({ hasText: QUESTION }).waitFor({ timeout: WAIT });
  await visitor.getByTestId('sb-input').fill('ada@example.com');
  await visitor.getByTestId('sb-input').press('Enter');
  await visitor.locator('[data-testid="sb-message"][data-sender="bot"]').filter({ hasText: THANKS }).waitFor({ timeout: WAIT });
  assert.equal(await visitor.locator('[data-testid="sb-message"]').filter({ hasText: HUMAN }).count(), 0);
  await visitor.screenshot({ path: `${SHOTS}flow-widget.png` });

  // The conversation as stored: the click names the bot message and the button.
  const { body: sessions } = await api.call('GET', `/api/projects/${api.pid}/sessions?limit=1`);
  const sid = sessions.items[0].id;
  const { body: history } = await api.call('GET', `/api/projects/${api.pid}/sessions/${sid}/messages?limit=100`);
  const botGreeting = history.items.find((m) => m.sender === 'bot' && m.text === GREETING);
  assert.ok(botGreeting, JSON.stringify(history.items));
  assert.deepEqual(botGreeting.content.buttons.map((b) => b.title), ['Pricing', 'Support']);
  const click = history.items.find((m) => m.sender === 'visitor' && m.text === 'Pricing');
  assert.deepEqual(click.content.button, { message_id: botGreeting.message_id, id: pricing });
  assert.equal(history.items.find((m) => m.sender === 'bot' && m.text === QUESTION).content.ask, 'email');

  // The agent's chat shows the bot's buttons as chips with a Bot label, and the click.
  await page.getByTestId('nav-inbox').click();
  await page.getByTestId('tab-all').click();
  await page.locator(`[data-testid="chat-item"][data-session-id="${sid}"]`).click();
  const botRow = page.locator('[data-testid="message"][data-sender="bot"]').filter({ hasText: GREETING });
  await botRow.waitFor({ timeout: WAIT });
  assert.deepEqual(await botRow.getByTestId('message-button-chip').allInnerTexts(), ['Pricing', 'Support']);
  await botRow.getByTestId('bot-label').waitFor({ timeout: WAIT });
  await page.locator('[data-testid="message"][data-sender="visitor"]').filter({ hasText: 'Pricing' }).getByTestId('message-button-click').waitFor({ timeout: WAIT });

  await vctx.close();
  await ctx.close();
});

test("the editor's Test run chats with the draft: the first bot message and its buttons", async () => {
  assert.ok(flowId, 'the first test made the flow');
  const { ctx, page } = await openConsole();
  await page.goto(`${server.url}/automation/${flowId}`);
  await page.getByTestId('flow-editor').waitFor({ timeout: WAIT });
  await page.getByTestId('flow-test-run').click();
  const chat = page.getByTestId('preview-chat');
  await chat.getByTestId('preview-status').filter({ hasText: 'Connected' }).waitFor({ timeout: WAIT });
  await chat.getByTestId('preview-input').fill('hello, testing');
  await chat.getByTestId('preview-send').click();
  const first = chat.locator('[data-testid="preview-message"][data-sender="bot"]').filter({ hasText: GREETING });
  await first.waitFor({ timeout: WAIT });
  assert.deepEqual(await first.getByTestId('preview-button').allInnerTexts(), ['Pricing', 'Support']);

  // A click there goes on through the draft, like the widget's.
  await first.getByTestId('preview-button').filter({ hasText: 'Support' }).click();
  await chat.locator('[data-testid="preview-message"][data-sender="bot"]').filter({ hasText: HUMAN }).waitFor({ timeout: WAIT });
  await page.screenshot({ path: `${SHOTS}flow-test-run.png` });
  await ctx.close();
});
