// End-to-end: the login page under the per-address login limit says what happened.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, WAIT } from './harness.mjs';

let server, browser;

before(async () => {
  server = await startServer({ env: { SWITCHBOARD_LOGINS_PER_MINUTE: '2' } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('after too many attempts the login page says to wait, even for the right password', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await page.goto(`${server.url}/`);
  /** Submits the form; resolves with the HTTP status of the login request. */
  const attempt = async (password) => {
    await page.getByTestId('login-email').fill(server.email);
    await page.getByTestId('login-password').fill(password);
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/auth/login'), { timeout: WAIT });
    await page.getByTestId('login-submit').click();
    return (await answered).status();
  };
  const error = page.getByTestId('login-error');
  for (let i = 0; i < 2; i += 1) {
    assert.equal(await attempt('not-the-password'), 401);
    await error.filter({ hasText: 'Wrong e-mail or password.' }).waitFor({ timeout: WAIT });
  }
  assert.equal(await attempt(server.password), 429);
  await error.filter({ hasText: /too many login attempts; try again in \d+ s/ }).waitFor({ timeout: WAIT });
  assert.equal(await page.getByTestId('connection-status').count(), 0, 'not signed in');
  await ctx.close();
});
