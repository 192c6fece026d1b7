// A MAX Bot API on 127.0.0.1 that speaks enough of the real JSON for a bot connected in the
// settings: GET /me (only for TOKEN, in the Authorization header), subscriptions, long-polling
// GET /updates with a marker, POST /messages.
import { createServer } from 'node:http';

export const TOKEN = 'f9LHodD0cOJf4_DkJGeq8BkDgc5vgSwZ-browser';

export async function startFakeMax() {
  const updates = [];
  const sent = [];
  let waiting = [];
  let seq = 1000;
  const answer = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      const url = new URL(req.url, 'http://fake');
      if (req.headers.authorization !== TOKEN) return answer(res, 401, { code: 'verify.token', message: 'Invalid access_token' });
      let body = {};
      try { body = raw ? JSON.parse(raw) : {}; } catch { body = {}; }
      const call = `${req.method} ${url.pathname}`;
      switch (call) {
        case 'GET /me':
          return answer(res, 200, { user_id: 229229229, first_name: 'Кофейня Зерно', name: 'Кофейня Зерно', username: 'zerno_support_bot', is_bot: true, last_activity_time: 0 });
        case 'GET /subscriptions':
          return answer(res, 200, { subscriptions: [] });
        case 'POST /messages':
          sent.push({ user_id: url.searchParams.get('user_id'), ...body });
          return answer(res, 200, { message: { recipient: { chat_id: 1, chat_type: 'dialog' }, timestamp: Date.now(), body: { mid: `mid.sent${sent.length}`, seq: sent.length, text: body.text } } });
        case 'GET /updates': {
          const marker = url.searchParams.has('marker') ? Number(url.searchParams.get('marker')) : null;
          // A marker confirms, and MAX forgets, what came before it.
          if (marker !== null) while (updates.length && updates[0].seq < marker) updates.shift();
          let answered = false;
          const reply = () => {
            if (answered) return;
            answered = true;
            clearTimeout(timer);
            waiting = waiting.filter((w) => w !== reply);
            const last = updates.length ? updates[updates.length - 1].seq + 1 : seq;
            answer(res, 200, { updates: updates.map((u) => u.update), marker: last });
          };
          const timer = setTimeout(reply, Math.min(Number(url.searchParams.get('timeout') || 0), 2) * 1000);
          waiting.push(reply);
          if (updates.length) reply();
          return undefined;
        }
        default:
          return answer(res, 404, { code: 'not.found', message: call });
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    sent,
    // A customer writes to the bot.
    say(text, user = { user_id: 555, name: 'Марина' }) {
      const now = Date.now();
      updates.push({ seq: seq++, update: { update_type: 'message_created', timestamp: now, user_locale: 'ru',
        message: { recipient: { chat_id: 1, chat_type: 'dialog', user_id: 229229229 }, timestamp: now,
          body: { mid: `mid.${seq}`, seq, text }, sender: { ...user, first_name: user.name, is_bot: false, last_activity_time: now } } } });
      const w = waiting; waiting = [];
      w.forEach((f) => f());
    },
    close() { [...waiting].forEach((f) => f()); server.closeAllConnections?.(); server.close(); },
  };
}
