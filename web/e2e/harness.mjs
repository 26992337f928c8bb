// Shared pieces of the browser tests: the real server (the switchboard binary with its
// embedded PostgreSQL), a TCP proxy in front of it that can cut every connection, and
// Debian's Chromium driven by playwright-core. Every wait is bounded.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const WAIT = 15_000;

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * Starts `switchboard serve` on a fresh data dir; resolves with its URL and owner login.
 * `env` adds environment variables (e.g. SWITCHBOARD_SMTP_URL), `args` extra `serve` arguments.
 */
export async function startServer({ env = {}, args = [] } = {}) {
  const bin = process.env.SWITCHBOARD_BIN ?? new URL('../../target/debug/switchboard', import.meta.url).pathname;
  // Under /tmp so that the `postgres` system user can reach the cluster when we run as root.
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-e2e-'));
  chmodSync(dataDir, 0o755);
  const port = await freePort();
  const child = spawn(bin, ['serve', '--data-dir', dataDir, '--bind', `127.0.0.1:${port}`, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // The per-address limits are off unless a test sets them: every browser here is 127.0.0.1
    // and logs in far faster than people do.
    env: {
      ...process.env,
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      SWITCHBOARD_LOGINS_PER_MINUTE: '0',
      SWITCHBOARD_VISITOR_SIGNUPS_PER_MINUTE: '0',
      ...env,
    },
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const deadline = Date.now() + 60_000;
  while (!/Demo widget key: (\S+)/.test(out)) {
    if (child.exitCode !== null) throw new Error(`server exited:\n${out}`);
    if (Date.now() > deadline) throw new Error(`server did not start:\n${out}`);
    await sleep(100);
  }
  const email = /e-mail:\s+(\S+)/.exec(out)[1];
  const password = /password:\s+(\S+)/.exec(out)[1];
  const widgetKey = /Demo widget key: (\S+)/.exec(out)[1];
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    email,
    password,
    widgetKey,
    output: () => out,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(15_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A TCP proxy to `targetPort`; `cut()` destroys every open connection (new ones still pass). */
export async function startProxy(targetPort) {
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      for (const s of sockets) s.destroy();
    },
    /** Refuse new connections for a while, as a network outage would. */
    async outage(ms) {
      server.close();
      this.cut();
      await sleep(ms);
      await new Promise((r) => server.listen(port, '127.0.0.1', r));
    },
    close() {
      this.cut();
      server.close();
    },
  };
}

/** A static page server for host pages that embed the widget. */
export async function startPageServer(pages) {
  const port = await freePort();
  const server = http.createServer((req, res) => {
    const body = pages[req.url.split('?')[0]];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/**
 * A REST client logged in as `email` (cookie auth, as the console): `pid` is its first
 * project, `userId` its user, `call(method, path, body)` answers `{status, body}`.
 */
export async function restClient(base, email, password) {
  const res = await fetch(`${base}/api/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`login of ${email} answered ${res.status}`);
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const me = await res.json();
  const pid = me.projects[0].project.id;
  const call = async (method, path, body) => {
    const r = await fetch(`${base}${path}`, {
      method, headers: { cookie, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  };
  return { pid, userId: me.user.id, call };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

export async function login(page, base, email, password) {
  await page.goto(`${base}/`);
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('connection-status').filter({ hasText: 'Connected' }).waitFor({ timeout: WAIT });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (bounded). */
export async function until(what, fn, ms = WAIT) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/**
 * Starts the fake Graph API (tests/fake_graph.py, a real HTTP server process) on a free port.
 * `baseUrl` is what the server takes as SWITCHBOARD_GRAPH_BASE_URL; `control(method, path,
 * body)` calls its /_control endpoints and answers the parsed JSON.
 */
export async function startFakeGraph() {
  const script = new URL('../../tests/fake_graph.py', import.meta.url).pathname;
  const child = spawn('python3', [script, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const port = Number(await until('the fake Graph API to listen', async () => {
    if (child.exitCode !== null) throw new Error(`fake_graph.py exited:\n${log}`);
    return /LISTENING (\d+)/.exec(log)?.[1];
  }));
  const root = `http://127.0.0.1:${port}`;
  return {
    port,
    baseUrl: `${root}/v25.0`,
    output: () => log,
    async control(method, path, body) {
      const r = await fetch(`${root}/_control/${path}`, {
        method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`fake Graph ${method} ${path} answered ${r.status}: ${text}`);
      return text ? JSON.parse(text) : null;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(5_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
