// A Telegram Bot API on 127.0.0.1 that speaks enough of the real JSON for a bot connected in
// the settings: getMe (only for TOKEN), deleteWebhook, long-polling getUpdates, sendMessage.
import { createServer } from 'node:http';

export const TOKEN = '123456:AAE-browser-test-token';

export async function startFakeTelegram() {
  const updates = [];
  const sent = [];
  let waiting = [];
  let nextId = 1;
  const answer = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      const m = req.url.match(/^\/bot([^/]+)\/(\w+)/);
      if (!m) return answer(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      const [, token, method] = m;
      if (token !== TOKEN) return answer(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      let body = {};
      try { body = raw ? JSON.parse(raw) : {}; } catch { body = {}; }
      switch (method) {
        case 'getMe':
          return answer(res, 200, { ok: true, result: { id: 42, is_bot: true, first_name: 'Поддержка', username: 'support_test_bot' } });
        case 'deleteWebhook':
        case 'setWebhook':
          return answer(res, 200, { ok: true, result: true });
        case 'sendMessage':
          sent.push(body);
          return answer(res, 200, { ok: true, result: { message_id: sent.length, date: 0, chat: { id: body.chat_id, type: 'private' }, text: body.text } });
        case 'getUpdates': {
          const offset = body.offset || 0;
          // Telegram forgets what a higher offset confirms.
          while (updates.length && updates[0].update_id < offset) updates.shift();
          // Answered once: by news, by the poll's timeout, or when the fake closes.
          let answered = false;
          const reply = () => {
            if (answered) return;
            answered = true;
            clearTimeout(timer);
            waiting = waiting.filter((w) => w !== reply);
            answer(res, 200, { ok: true, result: updates.filter((u) => u.update_id >= offset) });
          };
          if (updates.some((u) => u.update_id >= offset)) { answered = true; return answer(res, 200, { ok: true, result: updates.filter((u) => u.update_id >= offset) }); }
          const timer = setTimeout(reply, Math.min(body.timeout || 0, 2) * 1000);
          waiting.push(reply);
          return undefined;
        }
        default:
          return answer(res, 200, { ok: true, result: true });
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    sent,
    // A customer writes to the bot.
    say(text, from = { id: 777, first_name: 'Ольга' }) {
      const id = nextId++;
      updates.push({ update_id: id, message: { message_id: id, date: Math.floor(Date.now() / 1000), chat: { id: from.id, type: 'private', first_name: from.first_name }, from: { ...from, is_bot: false }, text } });
      const w = waiting; waiting = [];
      w.forEach((f) => f());
    },
    close() { [...waiting].forEach((f) => f()); server.closeAllConnections?.(); server.close(); },
  };
}
