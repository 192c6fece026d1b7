// The main operator path in a real headless Chromium: a visitor writes on /demo, the operator
// (already looking at the console) sees it arrive without a reload, answers, and the answer
// appears in the visitor's widget.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { startFakeTelegram, TOKEN } from './fake_telegram.mjs';
import { startFakeMax, TOKEN as MAX_TOKEN } from './fake_max.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = process.env.PEREPISKA_BIN || join(root, 'target', 'debug', 'perepiska');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const EMAIL = 'operator@example.com';
const PASSWORD = 'browser-test-password';

let server, base, dataDir, browser, telegram, max;

function startServer() {
  dataDir = mkdtempSync(join(tmpdir(), 'perepiska-browser-'));
  const env = { ...process.env, PEREPISKA_ADMIN_EMAIL: EMAIL, PEREPISKA_ADMIN_PASSWORD: PASSWORD,
    PEREPISKA_CHANNELS: join(dataDir, 'none.toml'), RUST_LOG: 'warn',
    // The fake Telegram below listens on 127.0.0.1, which a channel's api_base may not name otherwise.
    PEREPISKA_ALLOW_PRIVATE_TARGETS: '1' };
  if (!process.env.BROWSER_DATABASE_URL) delete env.DATABASE_URL;
  else env.DATABASE_URL = process.env.BROWSER_DATABASE_URL;
  server = spawn(bin, ['serve', '--bind', '127.0.0.1:0', '--data-dir', join(dataDir, 'data')], { cwd: root, env });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start in 30 s')), 30000);
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    server.stderr.on('data', (d) => process.stderr.write(d));
    server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}: ${out}`)); });
  });
}

before(async () => {
  telegram = await startFakeTelegram();
  max = await startFakeMax();
  base = await startServer();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) { server.removeAllListeners('exit'); server.kill('SIGTERM'); }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (telegram) telegram.close();
  if (max) max.close();
});

test('visitor writes on /demo, operator sees it live and answers, visitor gets the answer', { timeout: 60000 }, async () => {
  // The operator signs in and keeps the console open.
  const opCtx = await browser.newContext({ locale: 'ru-RU' });
  const op = await opCtx.newPage();
  const blocked = [];
  const watch = (page) => page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) blocked.push(m.text()); });
  watch(op);
  await op.goto(base + '/login');
  await op.fill('input[name=email]', EMAIL);
  await op.fill('input[name=password]', PASSWORD);
  await op.click('button[type=submit]');
  await op.waitForURL(base + '/console');
  await op.evaluate(() => { window.__notReloaded = true; });
  await op.waitForFunction(() => document.body.classList.contains('live'), null, { timeout: 10000 });

  // A visitor opens the business's page and writes in the widget.
  const visitorCtx = await browser.newContext({ locale: 'ru-RU' });
  const visitor = await visitorCtx.newPage();
  watch(visitor);
  await visitor.goto(base + '/demo');
  await visitor.click('#perepiska-widget .btn');
  await visitor.fill('#perepiska-widget textarea', 'Здравствуйте! Можно вернуть товар без чека?');
  await visitor.press('#perepiska-widget textarea', 'Enter');
  await visitor.waitForSelector('#perepiska-widget .m.customer[data-id]', { timeout: 10000 });

  // It appears in the operator's list without a reload, marked unread.
  const row = op.locator('#list .row.unread', { hasText: 'Можно вернуть товар без чека?' });
  await row.waitFor({ timeout: 10000 });
  assert.equal(await op.evaluate(() => window.__notReloaded), true, 'the console did not reload');

  await row.locator('a').click();
  await op.waitForSelector('#reply-form textarea');
  // Opening is a GET and changes nothing; the page itself marks the conversation read.
  await op.locator('#list .row:not(.unread)', { hasText: 'Можно вернуть товар без чека?' }).waitFor({ timeout: 10000 });
  await op.fill('#reply-form textarea', 'Да, с паспортом в течение 14 дней.');
  // While the operator types, the visitor sees so.
  await visitor.locator('#perepiska-widget .typing', { hasText: 'Оператор печатает…' }).waitFor({ timeout: 10000 });
  if (process.env.SCREENSHOTS) await visitor.screenshot({ path: join(process.env.SCREENSHOTS, 'widget-typing.png') });
  await op.click('#reply-form button[type=submit]');
  await op.locator('#thread .msg.operator', { hasText: 'Да, с паспортом' }).waitFor({ timeout: 10000 });

  // The answer reaches the visitor's widget live; the visitor has the chat open, so the
  // operator sees it read.
  const answer = visitor.locator('#perepiska-widget .m.operator', { hasText: 'Да, с паспортом в течение 14 дней.' });
  await answer.waitFor({ timeout: 10000 });
  assert.match(await answer.innerText(), /Admin/);
  assert.equal(await visitor.locator('#perepiska-widget .typing').count(), 0, 'the answer replaces «typing»');
  await op.locator('#thread .msg.operator', { hasText: 'Да, с паспортом' }).locator('.dl-read').waitFor({ timeout: 10000 });

  // A file whose name tries to break out of the widget's markup stays a name.
  const evil = "x' onerror='window.__pwned=1' y.png";
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
  await op.setInputFiles('#reply-form input[type=file]', { name: evil, mimeType: 'image/png', buffer: png });
  await op.click('#reply-form button[type=submit]');
  const img = visitor.locator('#perepiska-widget .m.operator img');
  await img.waitFor({ timeout: 10000 });
  assert.equal(await img.getAttribute('alt'), evil);
  assert.equal(await img.getAttribute('onerror'), null);
  assert.equal(await visitor.evaluate(() => window.__pwned), undefined, 'no script ran on the page');

  // A reload keeps the visitor's conversation.
  await visitor.reload();
  await visitor.locator('#perepiska-widget .m.operator', { hasText: 'Да, с паспортом' }).waitFor({ state: 'attached', timeout: 10000 });
  assert.deepEqual(blocked, [], 'the Content-Security-Policy blocked nothing our pages need');
  await opCtx.close();
  await visitorCtx.close();
});

test('admin sets a widget greeting with a contact request; a visitor sees it and leaves a name', { timeout: 60000 }, async () => {
  const adminCtx = await browser.newContext({ locale: 'ru-RU' });
  const admin = await adminCtx.newPage();
  await admin.goto(base + '/login');
  await admin.fill('input[name=email]', EMAIL);
  await admin.fill('input[name=password]', PASSWORD);
  await admin.click('button[type=submit]');
  await admin.waitForURL(base + '/console');
  await admin.click('a[href="/console/settings"]');
  await admin.waitForURL(base + '/console/settings');

  // The working-hours grid: Monday 9:00-11:00.
  await admin.check('input[name=h_0_9]');
  await admin.check('input[name=h_0_10]');
  await admin.click('#schedule button[type=submit]');
  await admin.waitForURL(/saved=1/);
  assert.equal(await admin.isChecked('input[name=h_0_10]'), true);
  assert.equal(await admin.isChecked('input[name=h_0_11]'), false);

  const widget = admin.locator('section', { has: admin.locator('h2', { hasText: 'Сайт' }) });
  await widget.locator('textarea[name=greeting]').fill('Добрый день! Оставьте имя — мы перезвоним.');
  await widget.locator('select[name=ask_name]').selectOption('required');
  await widget.locator('input[name=with_greeting]').check();
  await widget.locator('button[type=submit]').click();
  await admin.waitForURL(/saved=1/);
  await admin.locator('.notice.ok').waitFor();

  const visitorCtx = await browser.newContext({ locale: 'ru-RU' });
  const visitor = await visitorCtx.newPage();
  await visitor.goto(base + '/demo');
  await visitor.click('#perepiska-widget .btn');
  const greeting = visitor.locator('#perepiska-widget .m.greeting', { hasText: 'Оставьте имя' });
  await greeting.waitFor({ timeout: 10000 });
  await greeting.locator('input[name=name]').fill('Тамара');
  await greeting.locator('button').click();
  await visitor.locator('#perepiska-widget .m.greeting', { hasText: 'Спасибо, мы с вами свяжемся.' }).waitFor({ timeout: 10000 });
  await adminCtx.close();
  await visitorCtx.close();
});

async function signIn(ctx) {
  const page = await ctx.newPage();
  await page.goto(base + '/login');
  await page.fill('input[name=email]', EMAIL);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(base + '/console');
  return page;
}

test('admin connects a Telegram bot by its token; a wrong token is refused; the bot\'s customers reach the console', { timeout: 90000 }, async () => {
  const ctx = await browser.newContext({ locale: 'ru-RU' });
  const admin = await signIn(ctx);
  await admin.click('a[href="/console/settings"]');
  await admin.click('a[href="/console/settings/channels"]');
  await admin.click('a[data-kind=telegram]');
  await admin.waitForURL(/kind=telegram/);

  // A wrong token: the platform's refusal is named and nothing is connected.
  await admin.fill('input[name=name]', 'Бот магазина');
  await admin.fill('input[name="cfg.token"]', '999999:WRONG-token');
  await admin.click('summary');
  await admin.fill('input[name="cfg.api_base"]', telegram.url);
  await admin.click('button[value=check]');
  const refusal = admin.locator('.notice.error[role=alert]');
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /Бот не найден/);
  await admin.click('button[value=save]');
  assert.match(await admin.locator('.notice.error[role=alert]').innerText(), /Бот не найден/);
  await admin.goto(base + '/console/settings/channels');
  assert.equal(await admin.locator('tr.channel', { hasText: 'Бот магазина' }).count(), 0, 'nothing was saved');

  // The right token: the bot's name is shown before saving, then it is connected.
  await admin.click('a[data-kind=telegram]');
  await admin.fill('input[name=name]', 'Бот магазина');
  await admin.fill('input[name="cfg.token"]', TOKEN);
  await admin.click('summary');
  await admin.fill('input[name="cfg.api_base"]', telegram.url);
  await admin.click('button[value=check]');
  const found = admin.locator('.notice.checked');
  await found.waitFor();
  assert.match(await found.innerText(), /Поддержка \(@support_test_bot\)/);
  await admin.click('button[value=save]');
  await admin.locator('.notice.ok', { hasText: 'Канал подключён' }).waitFor();
  assert.match(await admin.locator('dd.account').innerText(), /@support_test_bot/);
  assert.match(await admin.locator('dd.receiving').innerText(), /Long polling/);
  // The token is never shown again: the field is empty and says a token is stored.
  assert.equal(await admin.inputValue('input[name="cfg.token"]'), '');
  assert.match(await admin.getAttribute('input[name="cfg.token"]', 'placeholder'), /сохранён/);
  assert.equal((await admin.content()).includes(TOKEN), false, 'the token is not in the page');
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'channel.png'), fullPage: true });

  // A customer writes to the bot; without a restart the message reaches the console.
  const op = await ctx.newPage();
  await op.goto(base + '/console');
  await op.waitForFunction(() => document.body.classList.contains('live'), null, { timeout: 10000 });
  telegram.say('Добрый день, где мой заказ 1234?');
  await op.locator('#list .row', { hasText: 'где мой заказ 1234' }).waitFor({ timeout: 20000 });

  // The list shows the bot, its account and when a customer last wrote.
  await admin.goto(base + '/console/settings/channels');
  const row = admin.locator('tr.channel', { hasText: 'Бот магазина' });
  assert.match(await row.innerText(), /@support_test_bot/);
  assert.doesNotMatch(await row.innerText(), /ещё не было/);
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'channels.png'), fullPage: true });
  await ctx.close();
});

test('admin connects a MAX bot: a wrong token is refused, the right one names the bot, a customer reaches the console and gets the answer', { timeout: 90000 }, async () => {
  const ctx = await browser.newContext({ locale: 'ru-RU' });
  const admin = await signIn(ctx);
  await admin.goto(base + '/console/settings/channels');
  await admin.click('a[data-kind=max]');
  await admin.waitForURL(/kind=max/);
  await admin.fill('input[name=name]', 'MAX кофейни');
  await admin.fill('input[name="cfg.token"]', 'wrong-token-0123456789');
  await admin.click('summary');
  await admin.fill('input[name="cfg.api_base"]', max.url);
  await admin.click('button[value=check]');
  const refusal = admin.locator('.notice.error[role=alert]');
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /Бот не найден/);
  await admin.goto(base + '/console/settings/channels');
  assert.equal(await admin.locator('tr.channel', { hasText: 'MAX кофейни' }).count(), 0, 'nothing was saved');

  await admin.click('a[data-kind=max]');
  await admin.fill('input[name=name]', 'MAX кофейни');
  await admin.fill('input[name="cfg.token"]', MAX_TOKEN);
  await admin.selectOption('select[name="cfg.mode"]', 'polling');
  await admin.click('summary');
  await admin.fill('input[name="cfg.api_base"]', max.url);
  await admin.click('button[value=check]');
  const found = admin.locator('.notice.checked');
  await found.waitFor();
  assert.match(await found.innerText(), /Кофейня Зерно \(@zerno_support_bot\)/);
  await admin.click('button[value=save]');
  await admin.locator('.notice.ok', { hasText: 'Канал подключён' }).waitFor();
  assert.match(await admin.locator('dd.receiving').innerText(), /Long polling/);
  assert.equal((await admin.content()).includes(MAX_TOKEN), false, 'the token is not in the page');
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'channel-max.png'), fullPage: true });

  // A customer writes in MAX; the operator sees it live and answers; the answer goes to MAX.
  const op = await ctx.newPage();
  await op.goto(base + '/console');
  await op.waitForFunction(() => document.body.classList.contains('live'), null, { timeout: 10000 });
  max.say('Здравствуйте, вы работаете в субботу?');
  const row = op.locator('#list .row', { hasText: 'работаете в субботу' });
  await row.waitFor({ timeout: 20000 });
  await row.locator('a').click();
  await op.waitForSelector('#reply-form textarea');
  await op.fill('#reply-form textarea', 'Да, с 10 до 18');
  await op.click('#reply-form button[type=submit]');
  await op.locator('#thread .msg.operator', { hasText: 'Да, с 10 до 18' }).waitFor({ timeout: 10000 });
  const deadline = Date.now() + 15000;
  while (!max.sent.some((m) => /Да, с 10 до 18/.test(m.text)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const answer = max.sent.find((m) => /Да, с 10 до 18/.test(m.text));
  assert.ok(answer, `sent to MAX: ${JSON.stringify(max.sent)}`);
  assert.equal(answer.user_id, '555');
  await ctx.close();
});

test('admin adds a webhook in the settings, sees the secret once, a failed delivery in the log and retries it', { timeout: 90000 }, async () => {
  // A receiver on 127.0.0.1 that is down for the first call.
  const calls = [];
  let down = 1;
  const receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      calls.push({ event: req.headers['x-perepiska-event'], signature: req.headers['x-perepiska-signature'], timestamp: req.headers['x-perepiska-timestamp'], body: raw });
      if (down > 0) { down -= 1; res.writeHead(503); res.end('maintenance'); return; }
      res.writeHead(200); res.end('ok');
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
  try {
    const ctx = await browser.newContext({ locale: 'ru-RU' });
    const admin = await signIn(ctx);
    await admin.goto(base + '/console/settings');
    await admin.click('a[href="/console/settings/integrations"]');
    // A bad address is refused and nothing is saved.
    await admin.fill('#new-integration input[name=key]', 'crm');
    await admin.fill('#new-integration input[name=name]', 'Наша CRM');
    await admin.fill('#new-integration input[name=url]', 'ftp://crm.example.com');
    await admin.click('#new-integration button[type=submit]');
    assert.match(await admin.locator('.notice.error[role=alert]').innerText(), /https/);
    assert.equal(await admin.locator('tr.integration').count(), 0);
    // The right one, for new messages only: saved, with the secret shown this once.
    await admin.fill('#new-integration input[name=url]', hookUrl);
    await admin.check('#new-integration input[name=events][value=message_incoming]');
    await admin.click('#new-integration button[type=submit]');
    const secretNote = admin.locator('.notice.secret code');
    await secretNote.waitFor();
    const secret = await secretNote.innerText();
    assert.ok(secret.length >= 16, secret);
    // A visitor writes; the first delivery fails and the log says so.
    const visitor = await ctx.newPage();
    await visitor.goto(base + '/demo');
    await visitor.click('#perepiska-widget .btn');
    await visitor.fill('#perepiska-widget textarea', 'Хочу заказать доставку на пятницу');
    await visitor.keyboard.press('Enter');
    const deadline = Date.now() + 15000;
    while (calls.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(calls.length, 1, 'the first attempt reached the receiver');
    let row;
    for (let i = 0; i < 50; i += 1) {
      await admin.goto(base + '/console/settings/integrations/crm');
      row = admin.locator('tr.delivery');
      if ((await row.count()) === 1 && /503/.test(await row.innerText())) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(await row.innerText(), /503/);
    assert.match(await row.innerText(), /maintenance/);
    assert.equal((await admin.content()).includes(secret), false, 'the secret is not shown again');
    if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'integration.png'), fullPage: true });
    // "Retry now" delivers it; the receiver can check the signature.
    await admin.click('tr.delivery button[type=submit]');
    for (let i = 0; i < 50 && !(await admin.locator('tr.delivery.delivered').count()); i += 1) {
      await new Promise((r) => setTimeout(r, 200));
      await admin.goto(base + '/console/settings/integrations/crm');
    }
    assert.equal(await admin.locator('tr.delivery.delivered').count(), 1);
    const last = calls[calls.length - 1];
    const expected = 'sha256=' + createHmac('sha256', secret).update(`${last.timestamp}.${last.body}`).digest('hex');
    assert.equal(last.signature, expected);
    assert.equal(JSON.parse(last.body).data.message.text, 'Хочу заказать доставку на пятницу');
    await ctx.close();
  } finally {
    receiver.close();
  }
});

// A Bitrix24 portal's incoming webhook on 127.0.0.1: profile, duplicate lookup, lead.add,
// the timeline; any other key is refused as the portal refuses it.
function startFakeBitrix() {
  const leads = [];
  const comments = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const m = req.url.match(/^\/rest\/(\d+)\/([^/]+)\/([a-z.]+)/);
      const send = (status, v) => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(v)); };
      if (!m || m[2] !== 'b24key') return send(401, { error: 'INVALID_CREDENTIALS', error_description: 'Invalid request credentials' });
      const params = body ? JSON.parse(body) : {};
      switch (m[3]) {
        case 'profile': return send(200, { result: { ID: '1', NAME: 'Иван', LAST_NAME: 'Петров', ADMIN: true } });
        case 'user.get': return send(200, { result: [] });
        case 'crm.duplicate.findbycomm': return send(200, { result: [] });
        case 'crm.lead.add': leads.push(params.fields); return send(200, { result: 500 + leads.length });
        case 'crm.timeline.comment.add': comments.push(params.fields); return send(200, { result: 900 + comments.length });
        default: return send(200, { result: true });
      }
    });
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({ srv, leads, comments, port: srv.address().port })));
}

test('admin connects Bitrix24 with its incoming webhook; a wrong one is refused; a new conversation is a lead linked from the sidebar', { timeout: 90000 }, async () => {
  const b24 = await startFakeBitrix();
  const portal = `http://127.0.0.1:${b24.port}`;
  try {
    const ctx = await browser.newContext({ locale: 'ru-RU' });
    const admin = await signIn(ctx);
    await admin.goto(base + '/console/settings/integrations');
    await admin.click('#new-integration nav.kinds a[href*="new=bitrix24"]');
    assert.match(await admin.locator('#new-integration h2').innerText(), /Битрикс24/);
    await admin.fill('#new-integration input[name=key]', 'b24');
    await admin.fill('#new-integration input[name=name]', 'Битрикс24');
    await admin.fill('#new-integration input[name=webhook_url]', `${portal}/rest/1/wrongkey/`);
    await admin.click('#new-integration button[type=submit]');
    assert.match(await admin.locator('.notice.error[role=alert]').innerText(), /Invalid request credentials/);
    assert.equal(await admin.locator('tr.integration[data-id=b24]').count(), 0, 'nothing is saved');
    // The form keeps what was typed except the webhook, which is a secret.
    await admin.fill('#new-integration input[name=webhook_url]', `${portal}/rest/1/b24key/`);
    await admin.fill('#new-integration input[name=default_responsible]', '1');
    await admin.click('#new-integration button[type=submit]');
    await admin.locator('.notice.connected').waitFor();
    assert.match(await admin.locator('.notice.connected').innerText(), /Иван Петров/);
    assert.equal((await admin.content()).includes('b24key'), false, 'the webhook key is not shown');
    if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'bitrix24.png'), fullPage: true });

    // A visitor writes; the lead is made and the conversation's sidebar links to it.
    const r = await fetch(base + '/widget/web/messages', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ visitor: 'visitor-token-bitrix-browser1', client_id: 'b1', text: 'Нужен счёт на 20 стульев' }),
    });
    assert.equal(r.status, 200);
    const sent = await r.json();
    await admin.goto(base + '/console?c=' + sent.conversation_id);
    const link = admin.locator('.crm-links a');
    await link.waitFor({ timeout: 15000 });
    assert.match(await link.innerText(), /Битрикс24: лид #50\d/);
    assert.match(await link.getAttribute('href'), new RegExp(`^${portal}/crm/lead/details/50\\d/$`));
    assert.ok(b24.leads.some((l) => /Нужен счёт на 20 стульев/.test(l.COMMENTS)), JSON.stringify(b24.leads));
    if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'bitrix24-sidebar.png') });

    // Removed, it takes no more events.
    await admin.goto(base + '/console/settings/integrations/b24');
    await admin.click('form[action$="/b24/delete"] button');
    await admin.waitForURL(/done=deleted/);
    assert.equal(await admin.locator('tr.integration[data-id=b24]').count(), 0);
    await ctx.close();
  } finally {
    b24.srv.close();
  }
});

test('admin changes the widget\'s colour, side and language; /demo shows them after saving', { timeout: 60000 }, async () => {
  const ctx = await browser.newContext({ locale: 'ru-RU' });
  const admin = await signIn(ctx);
  await admin.goto(base + '/console/settings/channels');
  await admin.locator('tr.channel a', { hasText: 'Сайт' }).click();
  await admin.waitForSelector('#snippet');
  assert.match(await admin.locator('#snippet').innerText(), /widget\.js" data-channel="web"/);
  await admin.locator('input[name="cfg.color"]').evaluate((el) => { el.value = '#ff5500'; });
  await admin.selectOption('select[name="cfg.side"]', 'left');
  await admin.selectOption('select[name="cfg.language"]', 'en');
  await admin.fill('input[name="cfg.title"]', 'Shop support');
  await admin.fill('input[name="cfg.launcher_text"]', 'Chat with us');
  await admin.click('#settings button[type=submit]');
  await admin.waitForURL(/saved=1/);
  assert.equal(await admin.inputValue('input[name="cfg.color"]'), '#ff5500');
  // The preview on the page is the widget as visitors now see it.
  const preview = admin.frameLocator('iframe.preview');
  await preview.locator('#perepiska-widget .btn.text').waitFor({ timeout: 10000 });
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'widget-settings.png'), fullPage: true });

  // A visitor whose browser is Russian still gets English, as the admin chose.
  const vctx = await browser.newContext({ locale: 'ru-RU' });
  const visitor = await vctx.newPage();
  await visitor.goto(base + '/demo');
  const launcher = visitor.locator('#perepiska-widget .btn');
  await visitor.locator('#perepiska-widget .btn.text').waitFor({ timeout: 10000 });
  assert.equal(await launcher.evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(255, 85, 0)');
  const box = await launcher.boundingBox();
  assert.ok(box.x < 100, `the launcher is on the left (x = ${box.x})`);
  assert.match(await launcher.innerText(), /Chat with us/);
  await launcher.click();
  assert.equal(await visitor.getAttribute('#perepiska-widget textarea', 'placeholder'), 'Write a message…');
  assert.equal(await visitor.locator('#perepiska-widget .head').innerText(), 'Shop support');
  if (process.env.SCREENSHOTS) await visitor.screenshot({ path: join(process.env.SCREENSHOTS, 'widget-demo.png') });
  await vctx.close();
  await ctx.close();
});

test('admin invites an operator, who sets a password and answers; switched off, their open console stops', { timeout: 90000 }, async () => {
  const actx = await browser.newContext({ locale: 'ru-RU' });
  const admin = await signIn(actx);
  await admin.goto(base + '/console/settings');
  await admin.click('nav.settings-nav a[href="/console/settings/team"]');
  await admin.fill('#add-member input[name=email]', 'newbie@example.com');
  await admin.fill('#add-member input[name=first_name]', 'Ника');
  await admin.fill('#add-member input[name=last_name]', 'Новикова');
  await admin.check('#add-member input[name=role][value=operator]');
  await admin.click('#add-member button[type=submit]');
  const link = (await admin.locator('#invite-url').innerText()).trim();
  assert.match(link, /\/invite\/[0-9a-f]{48}$/);
  assert.match(await admin.locator('tr.member[data-email="newbie@example.com"]').innerText(), /приглашён/);
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'team.png'), fullPage: true });

  // The new operator opens the link in their own browser and chooses a password.
  const octx = await browser.newContext({ locale: 'ru-RU' });
  const op = await octx.newPage();
  await op.goto(link);
  assert.match(await op.locator('main').innerText(), /Ника Новикова/);
  await op.fill('input[name=password]', 'newbie-password-1');
  await op.fill('input[name=repeat]', 'newbie-password-1');
  await op.click('button[type=submit]');
  await op.waitForURL(base + '/console');
  await op.waitForFunction(() => document.body.classList.contains('live'), null, { timeout: 10000 });

  // A customer writes; the operator answers.
  const sent = await fetch(base + '/widget/web/messages', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ visitor: 'visitor-token-browser-newbie1', client_id: 'n1', text: 'Подскажите часы работы' }),
  });
  assert.equal(sent.status, 200);
  const row = op.locator('#list .row', { hasText: 'Подскажите часы работы' });
  await row.waitFor({ timeout: 10000 });
  await row.locator('a').click();
  await op.waitForSelector('#reply-form textarea');
  await op.fill('#reply-form textarea', 'С 9 до 18 без выходных.');
  await op.click('#reply-form button[type=submit]');
  await op.locator('#thread .msg.operator', { hasText: 'С 9 до 18' }).waitFor({ timeout: 10000 });
  await op.waitForFunction(() => document.body.classList.contains('live'), null, { timeout: 10000 });

  // The admin switches them off: the open console is signed out at once.
  await admin.goto(base + '/console/settings/team');
  await admin.locator('tr.member[data-email="newbie@example.com"] a').click();
  await admin.click('#toggle-active');
  await admin.locator('#member .badge.off').waitFor({ timeout: 10000 });
  await op.waitForURL(base + '/login', { timeout: 10000 });
  await op.fill('input[name=email]', 'newbie@example.com');
  await op.fill('input[name=password]', 'newbie-password-1');
  await op.click('button[type=submit]');
  assert.match(await op.locator('main').innerText(), /Ваш доступ отключён/);
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'member.png'), fullPage: true });
  await octx.close();
  await actx.close();
});

test('admin adds a canned reply; the operator inserts it with / and the keyboard, edits and sends it', { timeout: 60000 }, async () => {
  const ctx = await browser.newContext({ locale: 'ru-RU' });
  const admin = await signIn(ctx);
  // Two replies of the project's, made on the page as an admin would.
  await admin.goto(base + '/console/canned');
  for (const [title, shortcut, text] of [
    ['Доставка', 'delivery', 'Здравствуйте, {name}! Заказ по обращению №{number} передан в доставку.'],
    ['Возврат', 'refund', 'Деньги вернутся в течение 10 дней.'],
  ]) {
    await admin.selectOption('#new-canned select[name=scope]', 'project');
    await admin.fill('#new-canned input[name=title]', title);
    await admin.fill('#new-canned input[name=shortcut]', shortcut);
    await admin.fill('#new-canned textarea[name=text]', text);
    await admin.click('#new-canned button[type=submit]');
    await admin.locator('p.notice.ok').waitFor({ timeout: 10000 });
  }
  await admin.locator('#project-replies tr.canned[data-shortcut="delivery"]').waitFor();
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'canned.png'), fullPage: true });

  // A customer asks through the widget.
  const r = await fetch(base + '/widget/web/messages', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ visitor: 'visitor-token-canned-browser1', client_id: 'c1', text: 'Когда привезут мой чайник?' }),
  });
  assert.equal(r.status, 200);
  const sent = await r.json();
  await admin.goto(base + '/console?c=' + sent.conversation_id);
  const box = admin.locator('#reply-form textarea');
  await box.waitFor();
  const customer = (await admin.locator('.contact-name').innerText()).trim();

  // "/" opens the list; typing narrows it; arrows and Enter insert the filled text.
  await box.click();
  await box.type('/');
  const picker = admin.locator('#reply-form .canned-picker');
  await picker.locator('li[role=option]').first().waitFor({ timeout: 10000 });
  assert.equal(await picker.locator('li[role=option]').count(), 2);
  await box.type('дост');
  await admin.waitForFunction(() => document.querySelectorAll('#reply-form .canned-picker li[role=option]').length === 1);
  assert.match(await picker.innerText(), /\/delivery/);
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'canned-picker.png') });
  await box.press('Enter');
  assert.equal(await picker.isHidden(), true, 'the list closes once a reply is chosen');
  const inserted = await box.inputValue();
  assert.equal(inserted, `Здравствуйте, ${customer}! Заказ по обращению №${sent.conversation_number} передан в доставку.`);
  // Escape closes the list without inserting; the operator edits before sending.
  await box.press('End');
  await box.type(' /re');
  await picker.locator('li[role=option]').first().waitFor();
  await box.press('Escape');
  assert.equal(await picker.isHidden(), true);
  await box.press('Backspace');
  await box.press('Backspace');
  await box.press('Backspace');
  await box.type(' Курьер позвонит заранее.');
  await admin.click('#reply-form button[type=submit]');
  await admin.locator('#thread .msg.operator', { hasText: 'Курьер позвонит заранее.' }).waitFor({ timeout: 10000 });
  assert.match(await admin.locator('#thread .msg.operator').last().innerText(), new RegExp(`Здравствуйте, ${customer}!`));

  // The use is counted on the page.
  await admin.goto(base + '/console/canned');
  const used = await admin.locator('#project-replies tr.canned[data-shortcut="delivery"] td').nth(3).innerText();
  assert.equal(used.trim(), '1');
  await ctx.close();
});

test('an operator works from the keyboard: next and previous, reply and send, assign to me, resolve, the help', { timeout: 60000 }, async () => {
  for (const [visitor, text] of [['visitor-token-keys-0000001', 'Первый вопрос с клавиатуры'], ['visitor-token-keys-0000002', 'Второй вопрос с клавиатуры']]) {
    const r = await fetch(base + '/widget/web/messages', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ visitor, client_id: 'k1', text }),
    });
    assert.equal(r.status, 200);
  }
  const ctx = await browser.newContext({ locale: 'ru-RU' });
  const op = await signIn(ctx);
  await op.goto(base + '/console?tab=all');
  const selectedText = () => op.locator('#list .row.selected').innerText();
  // j opens the newest conversation, j the next one, k goes back.
  await op.keyboard.press('j');
  await op.waitForURL(/c=\d+/);
  assert.match(await selectedText(), /Второй вопрос/);
  await op.keyboard.press('j');
  await op.locator('#list .row.selected', { hasText: 'Первый вопрос' }).waitFor({ timeout: 10000 });
  await op.keyboard.press('k');
  await op.locator('#list .row.selected', { hasText: 'Второй вопрос' }).waitFor({ timeout: 10000 });

  // r goes to the reply box, where letters are text; Ctrl+Enter sends.
  await op.keyboard.press('r');
  assert.equal(await op.evaluate(() => document.activeElement.name), 'text');
  await op.keyboard.type('Сейчас проверю, jk не листают.');
  await op.keyboard.press('Control+Enter');
  await op.locator('#thread .msg.operator', { hasText: 'Сейчас проверю, jk не листают.' }).waitFor({ timeout: 10000 });
  assert.match(await selectedText(), /Второй вопрос/, 'typing did not move to another conversation');

  // The answer assigned it to the operator; a takes the other one, e resolves it.
  await op.keyboard.press('j');
  await op.locator('#list .row.selected', { hasText: 'Первый вопрос' }).waitFor({ timeout: 10000 });
  await op.keyboard.press('a');
  await op.waitForFunction(() => {
    const s = document.querySelector('.side-pane select[name=assignee]');
    return s && s.selectedOptions[0] && s.selectedOptions[0].value !== '0';
  }, null, { timeout: 10000 });
  await op.keyboard.press('e');
  await op.waitForFunction(() => {
    const s = document.querySelector('.side-pane select[name=status]');
    return s && s.value === 'resolved';
  }, null, { timeout: 10000 });

  // ? shows the keys; Escape closes them.
  await op.keyboard.press('?');
  const help = op.locator('#shortcuts');
  await help.waitFor({ state: 'visible' });
  assert.match(await help.innerText(), /назначить на меня/);
  if (process.env.SCREENSHOTS) await op.screenshot({ path: join(process.env.SCREENSHOTS, 'shortcuts.png') });
  await op.keyboard.press('Escape');
  await help.waitFor({ state: 'hidden' });
  await ctx.close();
});

test('admin makes a tag in the settings; the operator tags a conversation and filters the list by it', { timeout: 60000 }, async () => {
  const ids = [];
  for (const [visitor, text] of [['visitor-token-tagged-000001', 'Чайник протекает, хочу вернуть'], ['visitor-token-tagged-000002', 'Есть ли доставка в Тверь?']]) {
    const r = await fetch(base + '/widget/web/messages', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ visitor, client_id: 't1', text }),
    });
    assert.equal(r.status, 200);
    ids.push((await r.json()).conversation_id);
  }
  const ctx = await browser.newContext({ locale: 'ru-RU' });
  const admin = await signIn(ctx);
  await admin.goto(base + '/console/settings/tags');
  await admin.fill('#new-tag input[name=name]', 'Возврат');
  await admin.selectOption('#new-tag select[name=colour]', 'orange');
  await admin.click('#new-tag button[type=submit]');
  await admin.locator('tr.tag-row[data-name="Возврат"] .tag.tag-orange').waitFor({ timeout: 10000 });
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'tags.png'), fullPage: true });

  // In the thread's panel: add the tag; the chip shows, the thread records it.
  await admin.goto(base + '/console?tab=all&c=' + ids[0]);
  await admin.selectOption('#tags select[name=add]', 'Возврат');
  await admin.click('#tags .add-tag button[type=submit]');
  await admin.locator('#tags .tag.tag-orange', { hasText: 'Возврат' }).waitFor({ timeout: 10000 });
  await admin.locator('#thread .system', { hasText: '+Возврат' }).waitFor({ timeout: 10000 });
  await admin.locator('#list .row[data-id="' + ids[0] + '"] .tag', { hasText: 'Возврат' }).waitFor();

  // The list's tag filter shows only the tagged conversation.
  await admin.selectOption('.filters select[name=tag]', { label: 'Возврат' });
  await admin.click('.filters button[type=submit]');
  await admin.waitForURL(/tag=\d+/);
  await admin.locator('#list .row[data-id="' + ids[0] + '"]').waitFor();
  assert.equal(await admin.locator('#list .row[data-id="' + ids[1] + '"]').count(), 0);
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'tag-filter.png') });
  await ctx.close();
});

test('an admin transfers a conversation with a note; the receiver\'s bell rings in their own open console', { timeout: 90000 }, async () => {
  const actx = await browser.newContext({ locale: 'ru-RU' });
  const admin = await signIn(actx);
  await admin.goto(base + '/console/settings/team');
  await admin.fill('#add-member input[name=email]', 'vera@example.com');
  await admin.fill('#add-member input[name=first_name]', 'Вера');
  await admin.fill('#add-member input[name=last_name]', 'Соколова');
  await admin.check('#add-member input[name=role][value=operator]');
  await admin.click('#add-member button[type=submit]');
  const link = (await admin.locator('#invite-url').innerText()).trim();

  // The receiver works in a browser of her own, the console open.
  const vctx = await browser.newContext({ locale: 'ru-RU' });
  const vera = await vctx.newPage();
  await vera.goto(link);
  await vera.fill('input[name=password]', 'vera-password-12');
  await vera.fill('input[name=repeat]', 'vera-password-12');
  await vera.click('button[type=submit]');
  await vera.waitForURL(base + '/console');
  await vera.waitForFunction(() => document.body.classList.contains('live'), null, { timeout: 10000 });
  assert.equal((await vera.locator('#bell-count').innerText()).trim(), '0');

  const sent = await fetch(base + '/widget/web/messages', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ visitor: 'visitor-token-transfer-0001', client_id: 'x1', text: 'Хочу оформить возврат заказа 5512' }),
  });
  assert.equal(sent.status, 200);
  const id = (await sent.json()).conversation_id;

  // The admin hands it to Vera with a note.
  await admin.goto(base + '/console?tab=all&c=' + id);
  await admin.click('#transfer summary');
  await admin.selectOption('#transfer select[name=transfer]', { label: 'Вера Соколова' });
  await admin.fill('#transfer textarea[name=note]', 'Заказ оплачен картой, возврат на неё же');
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'transfer.png') });
  await admin.click('#transfer button[type=submit]');
  await admin.locator('#thread .note', { hasText: 'возврат на неё же' }).waitFor({ timeout: 10000 });

  // Her bell rings without a reload; the notification quotes the note.
  await vera.waitForFunction(() => document.getElementById('bell-count').textContent.trim() === '1', null, { timeout: 10000 });
  assert.ok(await vera.locator('a.bell.has').count() === 1);
  assert.match(await vera.title(), /🔔1 /, 'the tab\'s title counts it too');
  await vera.click('a.bell');
  await vera.waitForURL(base + '/console/notifications');
  const text = await vera.locator('main').innerText();
  assert.match(text, /передал\(а\) вам #\d+: Заказ оплачен картой/);
  if (process.env.SCREENSHOTS) await vera.screenshot({ path: join(process.env.SCREENSHOTS, 'transfer-bell.png') });
  await vctx.close();
  await actx.close();
});

test('an admin imports contacts from CSV, finds one, tags and edits it, merges its duplicate and exports the list', { timeout: 90000 }, async () => {
  // A customer the business already knows writes from the widget first: a duplicate to be.
  const sent = await fetch(base + '/widget/web/messages', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ visitor: 'visitor-token-contacts-0001', client_id: 'c1', text: 'Это Анна, где мой заказ?' }),
  });
  assert.equal(sent.status, 200);
  const ctx = await browser.newContext({ locale: 'ru-RU', acceptDownloads: true });
  const admin = await signIn(ctx);
  await admin.goto(base + '/console/settings/tags');
  await admin.fill('#new-tag input[name=name]', 'Опт');
  await admin.click('#new-tag button[type=submit]');
  await admin.locator('tr.tag-row[data-name="Опт"]').waitFor({ timeout: 10000 });

  // From the console's header to the contacts page, then the import with one broken row.
  await admin.goto(base + '/console');
  await admin.click('header a[href="/console/contacts"]');
  await admin.waitForURL(base + '/console/contacts');
  await admin.click('a[href="/console/contacts/import"]');
  const csv = 'Имя;Телефон;E-mail;Организация\nАнна Смирнова;8 916 123-45-67;anna@example.com;Ромашка\nБорис;позвоните;;\nВиктор Лебедев;+7 903 222-33-44;;Ромашка\n';
  await admin.setInputFiles('input[type=file][name=file]', { name: 'clients.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await admin.click('form[enctype] button[type=submit]');
  await admin.locator('#import-report').waitFor({ timeout: 10000 });
  assert.equal((await admin.locator('#imported-created').innerText()).trim(), '2');
  assert.equal((await admin.locator('#imported-refused').innerText()).trim(), '1');
  assert.match(await admin.locator('.refused-rows').innerText(), /3\s+phone "позвоните"/);
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'contacts-import.png'), fullPage: true });

  // Found by the phone however typed; the organisation filters the list.
  await admin.goto(base + '/console/contacts');
  await admin.fill('.contacts-filter input[name=q]', '+7 (916) 123 45 67');
  await admin.click('.contacts-filter button[type=submit]');
  await admin.locator('tr.contact-row', { hasText: 'Анна Смирнова' }).waitFor({ timeout: 10000 });
  assert.equal(await admin.locator('tr.contact-row').count(), 1);
  await admin.click('tr.contact-row a:has-text("Ромашка")');
  await admin.waitForURL(/org=\d+/);
  assert.equal(await admin.locator('tr.contact-row').count(), 2);
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'contacts.png'), fullPage: true });

  // The card: VIP and the tag, saved.
  await admin.click('tr.contact-row a:has-text("Анна Смирнова")');
  await admin.waitForURL(/\/console\/contacts\/\d+$/);
  await admin.check('#contact-details input[name=vip]');
  await admin.locator('#contact-details .contact-tags label', { hasText: 'Опт' }).locator('input').check();
  await admin.click('#contact-details button[type=submit]');
  await admin.locator('.notice.ok', { hasText: 'Контакт сохранён' }).waitFor({ timeout: 10000 });
  assert.ok(await admin.locator('#contact-details input[name=vip]').isChecked());

  // The widget visitor is the same Anna: find that contact from her card and merge it in.
  await admin.fill('#contact-merge input[name=merge_q]', 'Посетитель');
  await admin.click('#contact-merge button[type=submit]');
  const candidate = admin.locator('.merge-candidates li').first();
  await candidate.waitFor({ timeout: 10000 });
  await candidate.locator('button').click();
  await admin.locator('.notice.ok', { hasText: 'Контакты объединены' }).waitFor({ timeout: 10000 });
  await admin.locator('#contact-conversations tr.contact-conversation', { hasText: 'где мой заказ' }).waitFor();
  assert.match(await admin.locator('#contact-identities').innerText(), /Сайт/, 'the widget identity moved to her');
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'contact-card.png'), fullPage: true });

  // Her conversation's sidebar now names her and links to the card.
  await admin.click('#contact-conversations tr.contact-conversation a');
  await admin.locator('.contact-card .contact-name a', { hasText: 'Анна Смирнова' }).waitFor({ timeout: 10000 });

  // The export holds the imported contacts with the tag.
  await admin.goto(base + '/console/contacts');
  const [download] = await Promise.all([admin.waitForEvent('download'), admin.click('a[href^="/console/contacts/export"]')]);
  const chunks = [];
  for await (const c of await download.createReadStream()) chunks.push(c);
  const exported = Buffer.concat(chunks).toString('utf8');
  assert.match(exported, /^\uFEFFname,phone,email,organization,vip,tags,manager\n/);
  assert.match(exported, /Анна Смирнова,8 916 123-45-67,anna@example.com,Ромашка,yes,Опт,/);
  await ctx.close();
});

// Bounded wait for something the fake Telegram was sent.
async function sentTo(chatId, pattern) {
  for (let i = 0; i < 200; i++) {
    const m = telegram.sent.find((s) => String(s.chat_id) === String(chatId) && pattern.test(s.text));
    if (m) return m;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing like ${pattern} was sent to ${chatId}: ${JSON.stringify(telegram.sent)}`);
}

test('a member links their Telegram on the profile with a one-time code; a customer\'s answer reaches them there', { timeout: 90000 }, async () => {
  const ctx = await browser.newContext({ locale: 'ru-RU' });
  const admin = await signIn(ctx);
  // The project's bot (the Telegram test may have connected it already).
  await admin.goto(base + '/console/settings/channels');
  if (await admin.locator('tr.channel', { hasText: '@support_test_bot' }).count() === 0) {
    await admin.click('a[data-kind=telegram]');
    await admin.fill('input[name=name]', 'Бот магазина');
    await admin.fill('input[name="cfg.token"]', TOKEN);
    await admin.click('summary');
    await admin.fill('input[name="cfg.api_base"]', telegram.url);
    await admin.click('button[value=save]');
    await admin.locator('.notice.ok', { hasText: 'Канал подключён' }).waitFor();
  }

  // Telegram for "a customer answered", then a code for the bot.
  await admin.goto(base + '/console/profile');
  await admin.check('input[aria-label="Telegram: Клиент ответил в моём обращении"]');
  await admin.click('#preferences button[type=submit]');
  await admin.waitForURL(/saved=1/);
  assert.ok(await admin.isChecked('input[aria-label="Telegram: Клиент ответил в моём обращении"]'));
  assert.match(await admin.locator('#notify').innerText(), /не настроена почта/, 'no SMTP here: said, not hidden');
  await admin.click('#messenger button[type=submit]');
  const command = (await admin.locator('#link-command').innerText()).trim();
  assert.match(command, /^\/start staff_[0-9a-f]{10}$/);
  const deep = await admin.locator('#messenger a[href^="https://t.me/support_test_bot?start=staff_"]').getAttribute('href');
  assert.ok(deep.endsWith(command.split(' ')[1]), 'the link carries the same code');
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'profile-link.png'), fullPage: true });

  // The member sends it from their own Telegram: linked, and said so in the chat.
  telegram.say(command, { id: 9001, first_name: 'Админ' });
  await sentTo(9001, /Готово/);
  await admin.goto(base + '/console/profile');
  assert.match(await admin.locator('#messenger').innerText(), /через бота канала «Бот магазина»/);

  // They answer a customer; the customer writes back; Telegram tells them.
  const r = await fetch(base + '/widget/web/messages', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ visitor: 'visitor-token-linked-00001', client_id: 'l1', text: 'Где мой заказ 8812?' }),
  });
  const id = (await r.json()).conversation_id;
  await admin.goto(base + '/console?tab=all&c=' + id);
  await admin.fill('#reply-form textarea[name=text]', 'Уже едет, будет завтра');
  await admin.keyboard.press('Control+Enter');
  await admin.locator('#thread .msg.operator', { hasText: 'Уже едет' }).waitFor({ timeout: 10000 });
  await fetch(base + '/widget/web/messages', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ visitor: 'visitor-token-linked-00001', client_id: 'l2', text: 'Спасибо, буду ждать' }),
  });
  const told = await sentTo(9001, /ответил\(а\) в #\d+: Спасибо, буду ждать/);
  assert.ok(told);

  // Unlinked on the profile: the code button is back.
  await admin.goto(base + '/console/profile');
  await admin.click('#messenger button.danger');
  await admin.waitForURL(/saved=1/);
  assert.equal(await admin.locator('#messenger button[type=submit]', { hasText: 'Получить код' }).count(), 1);
  await ctx.close();
});

test('an admin sets the first-response target, opens the reports, sees the charts and narrows them by operator', { timeout: 90000 }, async () => {
  for (const [visitor, text] of [['visitor-token-report-000001', 'Сколько стоит доставка?'], ['visitor-token-report-000002', 'Можно оплатить картой?']]) {
    const r = await fetch(base + '/widget/web/messages', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ visitor, client_id: 'r1', text }),
    });
    assert.equal(r.status, 200);
  }
  const ctx = await browser.newContext({ locale: 'ru-RU' });
  const admin = await signIn(ctx);
  // Settings → Automation → Reports: a bad target is refused, a good one is kept.
  await admin.goto(base + '/console/settings#reports');
  await admin.fill('#reports input[name=sla]', 'скоро');
  await admin.click('#reports button[type=submit]');
  await admin.locator('#reports .notice.error', { hasText: 'reports.sla' }).waitFor({ timeout: 10000 });
  await admin.fill('#reports input[name=sla]', '15m');
  await admin.selectOption('#reports select[name=sla_time]', 'working');
  await admin.click('#reports button[type=submit]');
  await admin.waitForURL(/saved=1/);
  assert.equal(await admin.inputValue('#reports input[name=sla]'), '15m');

  // From the console's header to the reports.
  await admin.goto(base + '/console');
  await admin.click('header a[href="/console/reports"]');
  await admin.waitForURL(base + '/console/reports');
  const opened = async () => Number(await admin.locator('.report-card', { hasText: 'Открыто' }).first().locator('.value').innerText());
  const all = await opened();
  assert.ok(all >= 2, `the new conversations are counted: ${all}`);
  assert.ok(await admin.locator('#chart-days svg rect').count() > 0, 'bars per day');
  assert.equal(await admin.locator('#chart-heatmap svg rect').count(), 7 * 24);
  assert.match(await admin.locator('.report-card', { hasText: 'SLA' }).innerText(), /рабочее время/);
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: join(process.env.SCREENSHOTS, 'reports.png'), fullPage: true });

  // One operator only: the unassigned new conversations drop out of the figures and charts.
  const barsBefore = await admin.locator('#chart-days svg rect[height]').evaluateAll((rs) => rs.map((r) => r.getAttribute('height')).join());
  await admin.selectOption('#report-filters select[name=operator]', { label: 'Admin' });
  await admin.click('#report-filters button[type=submit]');
  await admin.waitForURL(/operator=\d+/);
  const mine = await opened();
  assert.ok(mine <= all - 2, `filtered: ${mine} of ${all}`);
  const barsAfter = await admin.locator('#chart-days svg rect[height]').evaluateAll((rs) => rs.map((r) => r.getAttribute('height')).join());
  assert.notEqual(barsAfter, barsBefore, 'the chart follows the filter');
  // The journal of the period downloads as CSV.
  const [download] = await Promise.all([
    admin.waitForEvent('download'),
    admin.click('a[href^="/console/reports/journal.csv"]'),
  ]);
  assert.match(download.suggestedFilename(), /^journal-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
  await ctx.close();
});
