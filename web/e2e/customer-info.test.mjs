// End-to-end: customer info (the details column), per-agent chat-list settings, the Contacts
// page and Session management against the real server in headless Chromium. Visitors speak
// the raw visitor websocket protocol (docs/protocol.md) from a browser page, so a test can
// make as many contacts and sessions as it needs. Every wait is bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launchBrowser, login, until, sleep, WAIT, restClient } from './harness.mjs';

const SHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname;
const SECOND = { email: 'second@example.com', password: 'password123', name: 'Second Agent' };
let server, browser, api, apiB;

async function contactNow(cid) {
  const { status, body } = await api.call('GET', `/api/projects/${api.pid}/contacts/${cid}`);
  assert.equal(status, 200);
  return body;
}

async function summaryNow() {
  const { status, body } = await api.call('GET', `/api/projects/${api.pid}/reports/sessions/summary`);
  assert.equal(status, 200);
  return body;
}

async function patchContact(cid, patch) {
  const r = await api.call('PATCH', `/api/projects/${api.pid}/contacts/${cid}`, patch);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/**
 * Visitors on the raw websocket, hosted by one blank browser page (Node 20 has no global
 * WebSocket). `connect()` makes a new visitor (their contact comes with the first `say()`); `say()`
 * resolves on the ack.
 */
async function visitorHub() {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  // On the server's origin: Chromium refuses sockets to 127.0.0.1 from about:blank (local network access).
  await page.goto(`${server.url}/healthz`);
  const url = `${server.url.replace(/^http/, 'ws')}/ws/visitor?key=${encodeURIComponent(server.widgetKey)}`;
  let n = 0;
  return {
    async connect() {
      const hello = await page.evaluate(
        ([u, ms]) =>
          new Promise((resolve, reject) => {
            window.__visitors ??= [];
            const ws = new WebSocket(u);
            const v = { ws, frames: [] };
            const i = window.__visitors.push(v) - 1;
            const timer = setTimeout(() => reject(new Error('no hello from the visitor socket')), ms);
            ws.onmessage = (e) => {
              const f = JSON.parse(e.data);
              v.frames.push(f);
              if (f.type === 'hello') {
                clearTimeout(timer);
                resolve({ i, ...f });
              }
            };
            ws.onerror = () => reject(new Error('visitor socket failed'));
          }),
        [url, WAIT],
      );
      const visitor = {
        // A visitor has no contact until their first message: both are known after the first say().
        contactId: hello.contact_id,
        name: null,
        /** Sends a message; resolves with its ack (session_id, seq). */
        async say(text) {
          const clientId = `e2e-${++n}-${Date.now()}`;
          await page.evaluate(([i, c, t]) => window.__visitors[i].ws.send(JSON.stringify({ v: 1, type: 'send', client_id: c, text: t })), [hello.i, clientId, text]);
          const ack = await until(`the ack of "${text}"`, async () => {
            const f = await page.evaluate(([i, c]) => window.__visitors[i].frames.find((x) => (x.type === 'ack' || x.type === 'error') && (x.client_id === c || x.ref === c)), [hello.i, clientId]);
            if (f?.type === 'error') throw new Error(`visitor send refused: ${JSON.stringify(f)}`);
            return f;
          });
          if (visitor.contactId == null) {
            const { status, body } = await api.call('GET', `/api/projects/${api.pid}/sessions/${ack.session_id}`);
            assert.equal(status, 200);
            visitor.contactId = body.contact_id;
          }
          if (visitor.name == null) visitor.name = (await contactNow(visitor.contactId)).name;
          return ack;
        },
      };
      return visitor;
    },
    close: () => ctx.close(),
  };
}

/** A console in its own browser context (its own cookie), logged in, on the inbox. */
async function openConsole(email, password) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  // The frames the server sends to this console's agent socket(s), parsed.
  const frames = [];
  page.on('websocket', (ws) => {
    if (!ws.url().includes('/ws/agent')) return;
    ws.on('framereceived', ({ payload }) => {
      try {
        frames.push(JSON.parse(payload));
      } catch {
        // not JSON: not ours to check here
      }
    });
  });
  await login(page, server.url, email, password);
  return { ctx, page, frames };
}

/**
 * A console opened directly on a path (/contacts, /sessions), in a context of its own: a
 * second tab of one context would be a background tab, whose animation frames Chromium
 * throttles (and Playwright's clicks wait for them).
 */
async function openPage(email, password, path, testId) {
  const { page } = await openConsole(email, password);
  await page.goto(`${server.url}${path}`);
  await page.getByTestId(testId).waitFor({ timeout: WAIT });
  await page.getByTestId('connection-status').filter({ hasText: 'Connected' }).waitFor({ timeout: WAIT });
  return page;
}

/** Marks the document; `stillSameDocument` is false after any reload or navigation. */
const markDocument = (page) => page.evaluate(() => { window.__e2eMark = 'same-document'; });
const stillSameDocument = async (page) => (await page.evaluate(() => window.__e2eMark)) === 'same-document';

const chatRow = (page, sid) => page.locator(`[data-testid="chat-item"][data-session-id="${sid}"]`);
const contactRow = (page, cid) => page.locator(`[data-testid="contact-row"][data-contact-id="${cid}"]`);
const smRow = (page, sid) => page.locator(`[data-testid="sm-row"][data-session-id="${sid}"]`);

/** Total / visitor / agent of a Session management row, as shown. */
async function rowCounts(page, sid) {
  const row = smRow(page, sid);
  if ((await row.count()) !== 1) return null;
  const get = async (id) => Number(await row.getByTestId(id).innerText());
  return [await get('sm-count-total'), await get('sm-count-visitor'), await get('sm-count-agent')];
}

/** Ongoing / ended / total of the dashboard, as shown (null while not loaded). */
async function dashboard(page) {
  const out = {};
  for (const k of ['ongoing', 'ended', 'total']) {
    const t = (await page.getByTestId(`sm-${k}`).innerText()).replace(/[^\d]/g, '');
    if (t === '') return null;
    out[k] = Number(t);
  }
  return out;
}

/** The count on the Ongoing or Ended tab. */
const tabCount = async (page, tab) => Number(await page.getByTestId(`sm-tab-${tab}`).locator('.sm-tab-count').innerText());

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Saves one inline field of the details column (click, type, Enter) and waits for the result. */
async function editInfoField(page, field, text) {
  await page.getByTestId(`info-${field}`).click();
  const input = page.getByTestId(`info-${field}-input`);
  await input.fill(text);
  await input.press('Enter');
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
  api = await restClient(server.url, server.email, server.password);
  const r = await api.call('POST', `/api/projects/${api.pid}/members`, {
    email: SECOND.email, display_name: SECOND.name, password: SECOND.password, role: 'agent',
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  apiB = await restClient(server.url, SECOND.email, SECOND.password);
  const members = await api.call('GET', `/api/projects/${api.pid}/members`);
  const b = members.body.find((m) => m.user_id === apiB.userId);
  assert.ok(b, 'the second member is listed');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('customer info edited by one agent shows live in the other agent\'s chat list, Contacts and Session management', async () => {
  const hub = await visitorHub();
  const visitor = await hub.connect();
  const { session_id: sid } = await visitor.say('Hello, I need help with my order');
  const cid = visitor.contactId;

  const a = await openConsole(server.email, server.password);
  const b = await openConsole(SECOND.email, SECOND.password);
  // Opened before the edit: B's Contacts page, and a Session management page.
  const contacts = await openPage(SECOND.email, SECOND.password, '/contacts', 'contacts-page');
  const sessions = await openPage(server.email, server.password, '/sessions', 'sessions-page');

  // A answers first (the session is A's from then on); B follows every open chat on "All".
  await chatRow(a.page, sid).click();
  await a.page.getByTestId('composer').fill('Hi! Let me look at your order.');
  await a.page.getByTestId('composer').press('Enter');
  await a.page.getByTestId('session-status').filter({ hasText: 'assigned' }).waitFor({ timeout: WAIT });
  await b.page.getByTestId('tab-all').click();

  // Before: everyone shows the visitor's own name and nothing else.
  await chatRow(b.page, sid).waitFor({ timeout: WAIT });
  await until('the row in Session management has the reply', async () => same(await rowCounts(sessions, sid), [2, 1, 1]));
  assert.equal((await chatRow(b.page, sid).getByTestId('chat-item-name').innerText()).trim(), visitor.name);
  await contactRow(contacts, cid).waitFor({ timeout: WAIT });
  assert.equal(await contactRow(contacts, cid).getByTestId('contact-note-name').innerText(), 'Add note name');
  assert.equal(await contactRow(contacts, cid).getByTestId('contact-phone').innerText(), 'Add phone');
  await smRow(sessions, sid).waitFor({ timeout: WAIT });
  assert.equal(await smRow(sessions, sid).locator('.sm-contact').innerText(), visitor.name);
  for (const p of [b.page, contacts, sessions]) await markDocument(p);

  // Agent A fills in the customer info column of the open chat.
  await a.page.getByTestId('info-fields').waitFor({ timeout: WAIT });
  assert.equal(await a.page.getByTestId('info-fields').getAttribute('data-contact-id'), String(cid));
  await editInfoField(a.page, 'note-name', 'VIP Ada');
  await a.page.getByTestId('info-note-name').filter({ hasText: 'VIP Ada' }).waitFor({ timeout: WAIT });
  await editInfoField(a.page, 'phone', '+44 20-7946 0958');
  await a.page.getByTestId('info-phone').filter({ hasText: '+442079460958' }).waitFor({ timeout: WAIT });
  await editInfoField(a.page, 'email', 'ada@example.com');
  await a.page.getByTestId('info-email').filter({ hasText: 'ada@example.com' }).waitFor({ timeout: WAIT });
  await a.page.getByTestId('info-label-add').fill('vip');
  await a.page.getByTestId('info-label-add').press('Enter');
  await a.page.getByTestId('info-label').filter({ hasText: 'vip' }).waitFor({ timeout: WAIT });
  await a.page.getByTestId('info-name').filter({ hasText: 'VIP Ada' }).waitFor({ timeout: WAIT });
  assert.equal(await a.page.getByTestId('info-error').count(), 0);

  const stored = await contactNow(cid);
  assert.equal(stored.note_name, 'VIP Ada');
  assert.equal(stored.phone, '+442079460958', 'the phone is stored as E.164');
  assert.equal(stored.email, 'ada@example.com');
  assert.deepEqual(stored.labels, ['vip']);

  // B's chat list: the note name beside the visitor's name (B did not ask for note name first).
  await until('B\'s chat list shows the note name', async () => /VIP Ada/.test(await chatRow(b.page, sid).getByTestId('chat-item-name').innerText()));
  assert.equal(await chatRow(b.page, sid).locator('.name-primary').innerText(), visitor.name);
  assert.equal((await chatRow(b.page, sid).locator('.name-secondary').innerText()).trim(), 'VIP Ada');

  // B's Contacts page, open since before the edit.
  const crow = contactRow(contacts, cid);
  await until('the Contacts row has the new values', async () =>
    (await crow.getByTestId('contact-note-name').innerText()) === 'VIP Ada'
    && (await crow.getByTestId('contact-phone').innerText()) === '+442079460958'
    && (await crow.getByTestId('contact-email').innerText()) === 'ada@example.com');
  await until('the Contacts row has the label', async () => {
    const chips = await crow.getByTestId('contact-label').allInnerTexts();
    return chips.length === 1 && /^vip\s*×$/.test(chips[0]);
  });

  // The Session management row, open since before the edit.
  const srow = smRow(sessions, sid);
  await until('the Session management row shows the note name', async () => (await srow.locator('.sm-contact').innerText()) === 'VIP Ada');
  assert.match(await srow.innerText(), new RegExp(visitor.name));
  await until('the row shows phone and e-mail', async () => (await srow.getByTestId('sm-contact-details').count()) === 1
    && (await srow.getByTestId('sm-contact-details').innerText()) === '+442079460958 · ada@example.com');

  for (const p of [b.page, contacts, sessions]) assert.ok(await stillSameDocument(p), 'updated without a reload');

  // A bad phone: a clear message, the old value stays, nothing is stored.
  const changesBefore = (await api.call('GET', `/api/projects/${api.pid}/contacts/${cid}/changes`)).body.items.length;
  await editInfoField(a.page, 'phone', '12ab');
  const err = a.page.getByTestId('info-error');
  await err.waitFor({ timeout: WAIT });
  assert.match(await err.innerText(), /phone must be an international number/i);
  assert.equal(await a.page.getByTestId('info-phone').innerText(), '+442079460958');
  assert.equal((await contactNow(cid)).phone, '+442079460958');
  assert.equal((await api.call('GET', `/api/projects/${api.pid}/contacts/${cid}/changes`)).body.items.length, changesBefore, 'no change recorded');
  await sleep(300);
  assert.equal(await crow.getByTestId('contact-phone').innerText(), '+442079460958');
  // Editing again starts from the refused text; putting the stored value back clears the message.
  await a.page.getByTestId('info-phone').click();
  assert.equal(await a.page.getByTestId('info-phone-input').inputValue(), '12ab');
  await a.page.getByTestId('info-phone-input').fill('+442079460958');
  await a.page.getByTestId('info-phone-input').press('Enter');
  await a.page.getByTestId('info-error').waitFor({ state: 'detached', timeout: WAIT });

  // Who changed what and when: the edit history under the customer info.
  await a.page.getByTestId('info-history').locator('summary').click();
  const history = a.page.getByTestId('info-history-item');
  await history.filter({ hasText: 'You set the note name to VIP Ada' }).waitFor({ timeout: WAIT });
  await history.filter({ hasText: 'You set the phone to +442079460958' }).waitFor({ timeout: WAIT });
  await history.filter({ hasText: 'You set the labels to vip' }).waitFor({ timeout: WAIT });
  assert.equal(await history.count(), 4, 'note name, phone, e-mail, labels; the refused phone is not there');

  await visitor.say('It is order 4711, placed last Monday.');
  await a.page.getByTestId('message').filter({ hasText: 'order 4711' }).waitFor({ timeout: WAIT });
  await a.page.getByTestId('tab-mine').click();
  await a.page.locator('h2').filter({ hasText: 'VIP Ada' }).waitFor({ timeout: WAIT });
  await a.page.mouse.move(0, 0);
  await a.page.screenshot({ path: `${SHOTS}customer-info.png` });

  for (const c of [a.ctx, b.ctx, contacts.context(), sessions.context()]) await c.close();
  await hub.close();
});

test('the Contacts note-name filter shows just the contacts whose note name matches, case-insensitively', async () => {
  const hub = await visitorHub();
  const notes = ['Zebra Anna', 'big ZEBRA Ben', 'Lion Carl', null];
  const vs = [];
  for (const note of notes) {
    const v = await hub.connect();
    await v.say('hello');
    if (note) await patchContact(v.contactId, { note_name: note });
    vs.push(v);
  }
  const [anna, ben, carl, plain] = vs.map((v) => v.contactId);

  const { ctx, page } = await openConsole(SECOND.email, SECOND.password);
  await page.getByTestId('nav-contacts').click();
  await until('the contacts URL', async () => new URL(page.url()).pathname === '/contacts');
  await page.getByTestId('contacts-page').waitFor({ timeout: WAIT });
  const shown = async () => (await page.getByTestId('contact-row').evaluateAll((els) => els.map((e) => Number(e.dataset.contactId)))).sort((x, y) => x - y);
  await until('every new contact is listed', async () => {
    const s = await shown();
    return [anna, ben, carl, plain].every((id) => s.includes(id));
  });

  const filter = page.getByTestId('contacts-note-filter');
  await filter.pressSequentially('zEbR', { delay: 40 });
  await until('just the two zebras', async () => same(await shown(), [anna, ben].sort((x, y) => x - y)));
  assert.equal(await contactRow(page, anna).getByTestId('contact-note-name').innerText(), 'Zebra Anna');
  assert.equal(await contactRow(page, ben).getByTestId('contact-note-name').innerText(), 'big ZEBRA Ben');

  await filter.fill('lion');
  await until('just the lion', async () => same(await shown(), [carl]));

  // A note-name filter does not match the visitor's own name.
  await filter.fill(vs[3].name);
  await until('no contact', async () => (await shown()).length === 0);
  await page.getByText('No contacts match.').waitFor({ timeout: WAIT });

  await filter.fill('');
  await until('all of them again', async () => {
    const s = await shown();
    return [anna, ben, carl, plain].every((id) => s.includes(id));
  });
  await ctx.close();
  await hub.close();
});

test('chat-list settings are per agent: note name first and visitor labels for A only, kept after a reload', async () => {
  for (const c of [api, apiB]) {
    const r = await c.call('PATCH', `/api/projects/${c.pid}/me/preferences`, { note_name_first: false, show_visitor_labels: false });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  const hub = await visitorHub();
  const visitor = await hub.connect();
  const { session_id: sid } = await visitor.say('Where is my parcel?');
  await patchContact(visitor.contactId, { note_name: 'Captain Nemo', labels: ['submarine', 'refund'] });

  const a = await openConsole(server.email, server.password);
  const b = await openConsole(SECOND.email, SECOND.password);
  const names = async (page) => {
    const row = chatRow(page, sid);
    const secondary = row.locator('.name-secondary');
    return {
      primary: await row.locator('.name-primary').innerText(),
      secondary: (await secondary.count()) ? (await secondary.innerText()).trim() : null,
      labels: await row.getByTestId('chat-item-labels').locator('.chip').allInnerTexts(),
    };
  };
  const plain = { primary: visitor.name, secondary: 'Captain Nemo', labels: [] };
  for (const p of [a.page, b.page]) {
    await chatRow(p, sid).waitFor({ timeout: WAIT });
    assert.deepEqual(await names(p), plain);
  }
  await markDocument(b.page);

  await a.page.getByTestId('chatlist-settings').click();
  const nameFirst = a.page.getByTestId('pref-note-name-first');
  const showLabels = a.page.getByTestId('pref-show-labels');
  assert.equal(await nameFirst.isChecked(), false);
  assert.equal(await showLabels.isChecked(), false);
  await nameFirst.check();
  await until('A\'s row shows the note name first', async () => same(await names(a.page), { primary: 'Captain Nemo', secondary: visitor.name, labels: [] }));
  await showLabels.check();
  const wanted = { primary: 'Captain Nemo', secondary: visitor.name, labels: ['submarine', 'refund'] };
  await until('A\'s row shows the labels', async () => same(await names(a.page), wanted));
  await until('both stored for A', async () => {
    const { body } = await api.call('GET', `/api/projects/${api.pid}/me/preferences`);
    return body.note_name_first === true && body.show_visitor_labels === true;
  });

  // B: unchanged, now and after a reload.
  await sleep(500);
  assert.deepEqual(await names(b.page), plain);
  assert.ok(await stillSameDocument(b.page));
  const { body: prefsB } = await apiB.call('GET', `/api/projects/${apiB.pid}/me/preferences`);
  assert.deepEqual(prefsB, { show_visitor_labels: false, note_name_first: false });
  await b.page.reload();
  await chatRow(b.page, sid).waitFor({ timeout: WAIT });
  await sleep(500);
  assert.deepEqual(await names(b.page), plain);

  // A reloads: still on.
  await a.page.reload();
  await a.page.getByTestId('connection-status').filter({ hasText: 'Connected' }).waitFor({ timeout: WAIT });
  await chatRow(a.page, sid).waitFor({ timeout: WAIT });
  await until('A\'s row after the reload', async () => same(await names(a.page), wanted));
  await a.page.getByTestId('chatlist-settings').click();
  assert.equal(await a.page.getByTestId('pref-note-name-first').isChecked(), true);
  assert.equal(await a.page.getByTestId('pref-show-labels').isChecked(), true);

  await a.ctx.close();
  await b.ctx.close();
  await hub.close();
});

test('Session management numbers move live: messages, a new session, an agent reply, the end of a session', async () => {
  const hub = await visitorHub();
  const v1 = await hub.connect();
  const { session_id: s1 } = await v1.say('First question');
  await patchContact(v1.contactId, { note_name: 'Grace H.', phone: '+1 212 555 0187', email: 'grace@example.com' });
  const v3 = await hub.connect();
  const { session_id: s3 } = await v3.say('Do you ship to Norway?');
  await patchContact(v3.contactId, { note_name: 'Linus T.', email: 'linus@example.org' });

  const a = await openConsole(server.email, server.password);
  await a.page.getByTestId('nav-sessions').click();
  await until('the sessions URL', async () => new URL(a.page.url()).pathname === '/sessions');
  const page = a.page;
  await page.getByTestId('sessions-page').waitFor({ timeout: WAIT });
  await smRow(page, s1).waitFor({ timeout: WAIT });
  await until('row 1 counts 1/1/0', async () => same(await rowCounts(page, s1), [1, 1, 0]));
  const start = await until('the dashboard', () => dashboard(page));
  assert.deepEqual(start, await summaryNow());
  assert.equal(await tabCount(page, 'ongoing'), start.ongoing);
  await markDocument(page);

  // A visitor message in a session on screen: its counts move, the dashboard does not.
  await v1.say('Second question');
  await until('row 1 counts 2/2/0', async () => same(await rowCounts(page, s1), [2, 2, 0]));
  assert.deepEqual(await dashboard(page), start);

  // A new session: the dashboard moves; the list offers it and shows it on request.
  const v2 = await hub.connect();
  const { session_id: s2 } = await v2.say('Hello? New here');
  const afterNew = { ongoing: start.ongoing + 1, ended: start.ended, total: start.total + 1 };
  await until('ongoing and total +1', async () => same(await dashboard(page), afterNew));
  await page.getByTestId('sm-new').filter({ hasText: '1 new session' }).click({ timeout: WAIT });
  await until('the new row, 1/1/0', async () => same(await rowCounts(page, s2), [1, 1, 0]));
  assert.equal(await smRow(page, s2).locator('.sm-contact').innerText(), v2.name);

  // Agent B replies from its console: the reply counts as an agent message and B receives it.
  const b = await openConsole(SECOND.email, SECOND.password);
  await chatRow(b.page, s1).click({ timeout: WAIT });
  await b.page.getByTestId('message').filter({ hasText: 'Second question' }).waitFor({ timeout: WAIT });
  await b.page.getByTestId('composer').fill('Happy to help, Grace.');
  await b.page.getByTestId('composer').press('Enter');
  await until('row 1 counts 3/2/1', async () => same(await rowCounts(page, s1), [3, 2, 1]));
  await until('B is the receptionist', async () => (await smRow(page, s1).innerText()).includes(SECOND.name));
  await until('a first response time', async () => /\d/.test(await smRow(page, s1).getByTestId('sm-first-response').innerText()));
  assert.deepEqual(await dashboard(page), afterNew);
  await v3.say('Anyone?');
  await until('row 3 counts 2/2/0', async () => same(await rowCounts(page, s3), [2, 2, 0]));

  // B ends the session: it leaves Ongoing, the dashboard moves, Ended lists it with its counts.
  await b.page.getByTestId('end').click();
  const afterEnd = { ongoing: afterNew.ongoing - 1, ended: afterNew.ended + 1, total: afterNew.total };
  await until('ongoing -1, ended +1', async () => same(await dashboard(page), afterEnd));
  await smRow(page, s1).waitFor({ state: 'detached', timeout: WAIT });
  await until('the tab counts', async () => (await tabCount(page, 'ended')) === afterEnd.ended && (await tabCount(page, 'ongoing')) === afterEnd.ongoing);
  assert.deepEqual(await summaryNow(), afterEnd);
  assert.ok(await stillSameDocument(page), 'all of it without a reload');

  await page.getByTestId('sm-tab-ended').click();
  await until('the ended row, 3/2/1', async () => same(await rowCounts(page, s1), [3, 2, 1]));
  assert.equal(await smRow(page, s1).getAttribute('data-status'), 'ended');
  assert.equal(await smRow(page, s1).locator('.sm-contact').innerText(), 'Grace H.');

  // B answers the other waiting visitor; back on Ongoing, that row is B's with its counts.
  await chatRow(b.page, s3).click({ timeout: WAIT });
  await b.page.getByTestId('composer').fill('Yes, we ship to Norway.');
  await b.page.getByTestId('composer').press('Enter');
  await until('ongoing unchanged', async () => same(await dashboard(page), afterEnd));
  await page.getByTestId('sm-tab-ongoing').click();
  await until('row 3 counts 3/2/1', async () => same(await rowCounts(page, s3), [3, 2, 1]));
  assert.match(await smRow(page, s3).innerText(), new RegExp(SECOND.name));
  assert.equal(await smRow(page, s1).count(), 0);
  assert.ok(await stillSameDocument(page), 'all of it without a reload');
  await page.mouse.move(0, 0);
  await page.screenshot({ path: `${SHOTS}session-management.png` });
  await a.ctx.close();
  await b.ctx.close();
  await hub.close();
});

test('Session management filters by session tag; the dashboard and the CSV export follow', async () => {
  const hub = await visitorHub();
  const { session_id: tagged } = await (await hub.connect()).say('I want a refund');
  const { session_id: other } = await (await hub.connect()).say('Just browsing');
  const tag = await api.call('POST', `/api/projects/${api.pid}/session-tags`, { name: 'refund-e2e', color: '#cc3333' });
  assert.equal(tag.status, 201, JSON.stringify(tag.body));
  const put = await api.call('PUT', `/api/projects/${api.pid}/sessions/${tagged}/tags`, { tag_ids: [tag.body.id] });
  assert.equal(put.status, 200, JSON.stringify(put.body));

  const page = await openPage(server.email, server.password, '/sessions', 'sessions-page');
  await smRow(page, other).waitFor({ timeout: WAIT });
  await page.getByTestId('sm-tag').selectOption(String(tag.body.id));
  await smRow(page, other).waitFor({ state: 'detached', timeout: WAIT });
  await smRow(page, tagged).waitFor({ timeout: WAIT });
  assert.equal(await page.getByTestId('sm-row').count(), 1);
  await until('the dashboard counts the tagged session only', async () => same(await dashboard(page), { ongoing: 1, ended: 0, total: 1 }));
  const href = await page.getByTestId('sm-export').getAttribute('href');
  assert.match(href, new RegExp(`[?&]tag=${tag.body.id}(&|$)`));
  const csv = await page.evaluate(async (u) => (await fetch(u)).text(), href);
  const lines = csv.trim().split('\r\n');
  assert.equal(lines.length, 2, csv);
  assert.ok(lines[1].startsWith(`${tagged},`), csv);
  await page.context().close();
  await hub.close();
});

// Session actors keep the contact's names for their `session` frames; an edit must refresh
// them, or the next status change puts the old note name back on every console.
test('after a customer-info edit, later session changes keep the new note name', async () => {
  const hub = await visitorHub();
  const visitor = await hub.connect();
  const { session_id: sid } = await visitor.say('Is anyone there?');
  const a = await openConsole(server.email, server.password);
  const b = await openConsole(SECOND.email, SECOND.password);
  const sessions = await openPage(SECOND.email, SECOND.password, '/sessions', 'sessions-page');
  await b.page.getByTestId('tab-all').click();
  await chatRow(b.page, sid).waitFor({ timeout: WAIT });
  await smRow(sessions, sid).waitFor({ timeout: WAIT });

  await patchContact(visitor.contactId, { note_name: 'Renamed Rita' });
  await until('B\'s row shows the new note name', async () => /Renamed Rita/.test(await chatRow(b.page, sid).getByTestId('chat-item-name').innerText()));
  await until('the Session management row too', async () => (await smRow(sessions, sid).locator('.sm-contact').innerText()) === 'Renamed Rita');

  // A takes the chat: a `session` frame (status assigned) goes to every agent.
  await chatRow(a.page, sid).click();
  await a.page.getByTestId('take').click();
  const frame = await until('B gets the assigned session frame', async () =>
    b.frames.find((f) => f.type === 'session' && f.session.id === sid && f.session.status === 'assigned'));
  await until('Session management shows the receptionist', async () => (await smRow(sessions, sid).innerText()).includes('Owner'));
  await sleep(300);
  assert.equal(frame.session.note_name, 'Renamed Rita', 'the session frame carries the current note name');
  assert.match(await chatRow(b.page, sid).getByTestId('chat-item-name').innerText(), /Renamed Rita/);
  assert.equal(await smRow(sessions, sid).locator('.sm-contact').innerText(), 'Renamed Rita');
  await a.page.locator('h2').filter({ hasText: 'Renamed Rita' }).waitFor({ timeout: WAIT });
  for (const c of [a.ctx, b.ctx, sessions.context()]) await c.close();
  await hub.close();
});
