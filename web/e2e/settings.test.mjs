// End-to-end: the notification settings page against the real server and a real SMTP server
// (tests/smtp_server.py, aiosmtpd). Every wait is bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser, login, until, sleep, WAIT, restClient } from './harness.mjs';

const SHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname;
const SMTP_SCRIPT = new URL('../../tests/smtp_server.py', import.meta.url).pathname;
const NOT_CONFIGURED = 'E-mail is not configured on this server (SWITCHBOARD_SMTP_URL / SWITCHBOARD_SMTP_FROM)';
let smtp, server, browser, api, tmp;

/** Starts the test SMTP server on a free port; resolves once it accepts connections. */
async function startSmtp(out) {
  const child = spawn('python3', [SMTP_SCRIPT, '--port', '0', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const port = Number(await until('the SMTP server to listen', async () => {
    if (child.exitCode !== null) throw new Error(`smtp_server.py exited:\n${log}`);
    return /listening on (\d+)/.exec(log)?.[1];
  }));
  return {
    port,
    /** The mails it accepted (one JSON object per line of the output file). */
    mails: () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(5_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

async function openConsole(email, password) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 920 } });
  const page = await ctx.newPage();
  await login(page, server.url, email, password);
  return { ctx, page };
}

async function settingsNow() {
  const { status, body } = await api.call('GET', `/api/projects/${api.pid}/settings/notifications`);
  assert.equal(status, 200);
  return body;
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  tmp = mkdtempSync(join(tmpdir(), 'sb-e2e-smtp-'));
  smtp = await startSmtp(join(tmp, 'mails.jsonl'));
  server = await startServer({
    env: {
      SWITCHBOARD_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      SWITCHBOARD_SMTP_FROM: 'Switchboard <alerts@example.com>',
      SWITCHBOARD_SMTP_RETRY_BASE_SECS: '1',
    },
  });
  browser = await launchBrowser();
  api = await restClient(server.url, server.email, server.password);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await smtp?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('an owner turns e-mail alerts on, the settings survive a reload, and a test e-mail arrives', async () => {
  const { ctx, page } = await openConsole(server.email, server.password);
  await page.getByTestId('nav-settings').click();
  await until('the settings URL', async () => new URL(page.url()).pathname === '/settings/notifications');
  const enabled = page.getByTestId('notify-email-enabled');
  const minutes = page.getByTestId('notify-wait-minutes');
  await enabled.waitFor({ timeout: WAIT });

  // The defaults, with SMTP configured: no notice, everything editable.
  assert.equal(await enabled.isChecked(), false);
  assert.equal(await minutes.inputValue(), '5');
  assert.equal(await page.getByTestId('notify-include-hosted').isChecked(), false);
  assert.equal(await page.getByTestId('notify-not-configured').count(), 0);
  assert.equal(await page.getByTestId('notify-test').isEnabled(), true);

  // An invalid waiting time is refused and nothing is stored.
  await enabled.check();
  await minutes.fill('0');
  await page.getByTestId('notify-save').click();
  await page.getByTestId('notify-error').filter({ hasText: '10080' }).waitFor({ timeout: WAIT });
  assert.equal((await settingsNow()).email_enabled, false);

  await minutes.fill('3');
  await page.getByTestId('notify-save').click();
  await page.getByTestId('notify-saved').waitFor({ timeout: WAIT });
  assert.equal(await page.getByTestId('notify-error').count(), 0);
  const stored = await settingsNow();
  assert.equal(stored.email_enabled, true);
  assert.equal(stored.wait_secs, 180);
  assert.equal(stored.include_bot_hosted, false);
  assert.equal(stored.email_configured, true);

  // A reload lands on the same page with the stored values.
  await page.reload();
  await enabled.waitFor({ timeout: WAIT });
  assert.equal(new URL(page.url()).pathname, '/settings/notifications');
  await until('the stored values after the reload', async () => (await enabled.isChecked()) && (await minutes.inputValue()) === '3');
  assert.equal(await page.getByTestId('notify-include-hosted').isChecked(), false);

  // The test e-mail goes through the outbox to the SMTP server, once, to the owner.
  await page.getByTestId('notify-test').click();
  await page.mouse.move(0, 0); // no hover in the screenshot
  const result = page.getByTestId('notify-test-result');
  await result.filter({ hasText: /^(Sent|Failed)/ }).waitFor({ timeout: 35_000 });
  const text = await result.innerText();
  assert.match(text, /^Sent/, text);
  assert.equal(await result.getAttribute('data-state'), 'sent');
  const mails = await until('the mail at the SMTP server', async () => {
    const m = smtp.mails();
    return m.length > 0 && m;
  });
  await sleep(500); // nothing else follows
  assert.equal(smtp.mails().length, 1, JSON.stringify(smtp.mails()));
  assert.deepEqual(mails[0].to, [server.email]);
  assert.match(mails[0].header_from, /alerts@example\.com/);
  assert.match(mails[0].subject, /test/i);
  await page.getByTestId('notify-failed-list').filter({ hasText: 'No undelivered e-mails' }).waitFor({ timeout: WAIT });
  await page.screenshot({ path: `${SHOTS}settings-notifications.png` });

  // Back to the inbox.
  await page.getByTestId('nav-inbox').click();
  await until('the inbox URL', async () => new URL(page.url()).pathname === '/');
  await page.getByTestId('tab-unassigned').waitFor({ timeout: WAIT });
  assert.equal(await page.getByTestId('notify-email-enabled').count(), 0);
  await ctx.close();
});

test('an agent without project.manage sees the settings read-only', async () => {
  const r = await api.call('POST', `/api/projects/${api.pid}/members`, {
    email: 'reader@example.com', display_name: 'Reader Agent', password: 'password123', role: 'agent',
  });
  assert.equal(r.status, 201);
  const { ctx, page } = await openConsole('reader@example.com', 'password123');
  // A direct link lands on the page.
  await page.goto(`${server.url}/settings/notifications`);
  const enabled = page.getByTestId('notify-email-enabled');
  await enabled.waitFor({ timeout: WAIT });
  await until('the stored values', async () => (await enabled.isChecked()) && (await page.getByTestId('notify-wait-minutes').inputValue()) === '3');
  assert.equal(await enabled.isDisabled(), true);
  assert.equal(await page.getByTestId('notify-wait-minutes').isDisabled(), true);
  assert.equal(await page.getByTestId('notify-include-hosted').isDisabled(), true);
  assert.equal(await page.getByTestId('notify-save').count(), 0);
  assert.equal(await page.getByTestId('notify-test').count(), 0);
  assert.equal(await page.getByTestId('notify-failed-list').count(), 0);
  assert.equal(await page.getByTestId('notify-not-configured').count(), 0);
  // And the server agrees.
  const agent = await restClient(server.url, 'reader@example.com', 'password123');
  const patch = await agent.call('PATCH', `/api/projects/${agent.pid}/settings/notifications`, { email_enabled: false });
  assert.equal(patch.status, 403);
  await ctx.close();
});

test('without SMTP settings the page says so and the test button is off', async () => {
  // A second server without SMTP (the variables are removed even if the caller's environment has them).
  const bare = await startServer({ env: { SWITCHBOARD_SMTP_URL: undefined, SWITCHBOARD_SMTP_FROM: undefined } });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 920 } });
  try {
    const page = await ctx.newPage();
    await login(page, bare.url, bare.email, bare.password);
    await page.getByTestId('nav-settings').click();
    const notice = page.getByTestId('notify-not-configured');
    await notice.waitFor({ timeout: WAIT });
    assert.match(await notice.innerText(), new RegExp(NOT_CONFIGURED.replace(/[()/]/g, '\\$&')));
    assert.equal(await page.getByTestId('notify-test').isDisabled(), true);
    assert.equal(await page.getByTestId('notify-email-enabled').isEnabled(), true);
  } finally {
    await ctx.close();
    await bare.stop();
  }
});
