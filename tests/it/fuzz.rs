//! Every adapter's parser fed mutated and random bodies through the real HTTP endpoints,
//! starting from real payloads of each platform. Seeded and reproducible: the seed is
//! PEREPISKA_FUZZ_SEED (default below) and every failure names the case and its body.
//! Asserted: every request is answered (a panic drops the connection), never with a 5xx, and
//! a body that is not a validly signed event stores nothing.
//!
//! Seeds carry no file URLs: a mutated host must never send a download off this machine.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use wiremock::MockServer;

use crate::support::TestApp;
use crate::support::fake_telegram::{FakeTelegram, TOKEN};

const CASES: usize = 700;
const DEFAULT_SEED: u64 = 0x5eed_2026_1201;
const VK_SECRET: &str = "vk-callback-secret-1";
const VK_GROUP: i64 = 229_000_111;
const VIBER_TOKEN: &str = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f";
const WA_SECRET: &str = "wa-app-secret";
const WA_PNID: &str = "106540352242922";
const HOOK_SECRET: &str = "hook-secret-0123456789";
const API_SECRET: &str = "crm-shared-secret-123";
const MAX_TOKEN: &str = "f9LHodD0cOJf4_DkJGeq8BkDgc5vgSwZ";
const MAX_SECRET: &str = "max-hook-secret_1";

/// SplitMix64: small, fast and the same everywhere, so a seed replays a run exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

fn random_string(rng: &mut Rng) -> String {
    const PIECES: [&str; 14] = [
        "",
        "a",
        "Привет",
        "😀",
        "\u{0}",
        "\"",
        "\\",
        "</script><img src=x>",
        "../../",
        "%00",
        "null",
        "-1",
        "9223372036854775808",
        "\u{202e}",
    ];
    match rng.below(4) {
        0 => PIECES[rng.below(PIECES.len())].to_string(),
        1 => PIECES[rng.below(PIECES.len())].repeat(1 + rng.below(2000)),
        2 => (0..rng.below(64))
            .map(|_| char::from_u32(rng.below(0x3000) as u32).unwrap_or('?'))
            .collect(),
        _ => "x".repeat(rng.below(70_000)),
    }
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 6 } else { 9 }) {
        0 => Value::Null,
        1 => json!(rng.chance(2)),
        2 => json!(rng.next() as i64),
        3 => json!(-(rng.below(1000) as i64)),
        4 => json!((rng.next() as f64) / 7.0),
        5 => json!(random_string(rng)),
        6 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        7 => {
            let mut m = serde_json::Map::new();
            for _ in 0..rng.below(4) {
                m.insert(
                    random_string(rng).chars().take(12).collect(),
                    random_value(rng, depth + 1),
                );
            }
            Value::Object(m)
        }
        // Deep nesting, past serde_json's recursion limit.
        _ => {
            let mut v = json!(1);
            for _ in 0..(50 + rng.below(300)) {
                v = json!([v]);
            }
            v
        }
    }
}

/// Changes one place of a JSON document: replaces, removes or adds a value.
fn mutate_json(rng: &mut Rng, v: &mut Value, depth: usize) {
    let descend = depth < 8 && rng.below(3) != 0;
    match v {
        Value::Object(m) if !m.is_empty() => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let k = keys[rng.below(keys.len())].clone();
            if descend && (m[&k].is_object() || m[&k].is_array()) {
                if let Some(child) = m.get_mut(&k) {
                    mutate_json(rng, child, depth + 1);
                }
            } else {
                match rng.below(3) {
                    0 => {
                        m.remove(&k);
                    }
                    1 => {
                        m.insert(k, random_value(rng, depth));
                    }
                    _ => {
                        m.insert(
                            random_string(rng).chars().take(16).collect(),
                            random_value(rng, depth),
                        );
                    }
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let i = rng.below(a.len());
            if descend {
                mutate_json(rng, &mut a[i], depth + 1);
            } else if rng.chance(2) {
                a.remove(i);
            } else {
                a[i] = random_value(rng, depth);
            }
        }
        other => *other = random_value(rng, depth),
    }
}

/// New platform ids, so mutated events reach the commit instead of stopping as duplicates.
fn fresh_ids(rng: &mut Rng, v: &mut Value) {
    const IDS: [&str; 8] = [
        "update_id",
        "message_id",
        "id",
        "mid",
        "message_token",
        "client_id",
        "conversation_message_id",
        "event_id",
    ];
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if IDS.contains(&k.as_str()) {
                    match x {
                        Value::Number(_) => *x = json!(rng.next() >> 34),
                        Value::String(s) => *x = json!(format!("{s}-{}", rng.next() >> 40)),
                        _ => {}
                    }
                } else {
                    fresh_ids(rng, x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| fresh_ids(rng, x)),
        _ => {}
    }
}

/// One body made from the seeds: JSON-aware mutations mostly, then byte-level damage, then
/// noise.
fn body(rng: &mut Rng, seeds: &[Value]) -> Vec<u8> {
    let mut v = seeds[rng.below(seeds.len())].clone();
    if rng.chance(2) {
        fresh_ids(rng, &mut v);
    }
    match rng.below(10) {
        0..=5 => {
            for _ in 0..(1 + rng.below(4)) {
                mutate_json(rng, &mut v, 0);
            }
            serde_json::to_vec(&v).unwrap_or_default()
        }
        6 | 7 => {
            let mut b = serde_json::to_vec(&v).unwrap_or_default();
            for _ in 0..(1 + rng.below(8)) {
                if b.is_empty() {
                    break;
                }
                let i = rng.below(b.len());
                match rng.below(3) {
                    0 => b[i] = rng.next() as u8,
                    1 => b.truncate(i),
                    _ => b.insert(i, rng.next() as u8),
                }
            }
            b
        }
        8 => (0..rng.below(4096)).map(|_| rng.next() as u8).collect(),
        _ => Vec::new(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Auth {
    /// Signed or authenticated as the platform would.
    Valid,
    /// A wrong signature, secret or path: must be refused and store nothing.
    Forged,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Telegram,
    Vk,
    Viber,
    WhatsApp,
    Ok,
    Avito,
    Max,
    Api,
    Widget,
}

fn seeds(t: Target) -> Vec<Value> {
    let tg_msg = |extra: Value| {
        let mut m = json!({ "message_id": 7, "date": 1_763_700_000,
            "chat": { "id": 5001, "type": "private", "first_name": "Ирина" },
            "from": { "id": 5001, "is_bot": false, "first_name": "Ирина", "language_code": "ru" } });
        for (k, v) in extra.as_object().into_iter().flatten() {
            m[k] = v.clone();
        }
        json!({ "update_id": 100, "message": m })
    };
    match t {
        Target::Telegram => vec![
            tg_msg(json!({ "text": "Здравствуйте, не приходит счёт" })),
            tg_msg(
                json!({ "photo": [{ "file_id": "AgAD1", "file_unique_id": "u1", "width": 90, "height": 90, "file_size": 1200 }], "caption": "чек" }),
            ),
            tg_msg(
                json!({ "document": { "file_id": "BQAD2", "file_unique_id": "u2", "file_name": "акт.pdf", "mime_type": "application/pdf", "file_size": 5000 } }),
            ),
            tg_msg(
                json!({ "contact": { "phone_number": "79001234567", "first_name": "Ирина", "user_id": 5001 } }),
            ),
            tg_msg(json!({ "location": { "latitude": 55.75, "longitude": 37.61 } })),
            json!({ "update_id": 101, "callback_query": { "id": "cb1", "from": { "id": 5001, "is_bot": false, "first_name": "Ирина" },
                "message": { "message_id": 1, "date": 1_763_700_000, "chat": { "id": 5001, "type": "private" } }, "chat_instance": "-1", "data": "status" } }),
            json!({ "update_id": 102, "my_chat_member": { "chat": { "id": 5001, "type": "private" }, "from": { "id": 5001, "is_bot": false, "first_name": "И" },
                "date": 1_763_700_000, "old_chat_member": { "status": "member", "user": { "id": 1, "is_bot": true, "first_name": "bot" } },
                "new_chat_member": { "status": "kicked", "until_date": 0, "user": { "id": 1, "is_bot": true, "first_name": "bot" } } } }),
            json!({ "update_id": 103, "edited_message": { "message_id": 7, "date": 1, "edit_date": 2, "chat": { "id": 5001, "type": "private" }, "text": "исправлено" } }),
        ],
        Target::Vk => {
            let ev = |kind: &str, object: Value| json!({ "type": kind, "event_id": "e1", "v": "5.199", "group_id": VK_GROUP, "secret": VK_SECRET, "object": object });
            vec![
                ev(
                    "message_new",
                    json!({ "message": { "id": 1001, "date": 1_763_700_000, "peer_id": 51_000_777, "from_id": 51_000_777, "text": "Привет",
                    "conversation_message_id": 1, "out": 0, "attachments": [{ "type": "sticker", "sticker": { "sticker_id": 1 } }], "fwd_messages": [] },
                    "client_info": { "button_actions": ["text", "callback"], "keyboard": true, "inline_keyboard": true, "lang_id": 0 } }),
                ),
                ev(
                    "message_event",
                    json!({ "user_id": 51_000_777, "peer_id": 51_000_777, "event_id": "x1", "payload": { "cmd": "status" }, "conversation_message_id": 2 }),
                ),
                ev(
                    "wall_reply_new",
                    json!({ "id": 9, "from_id": 51_000_777, "post_id": 5, "owner_id": -VK_GROUP, "text": "Сколько стоит?", "date": 1_763_700_000 }),
                ),
                ev("message_deny", json!({ "user_id": 51_000_777 })),
                json!({ "type": "confirmation", "group_id": VK_GROUP, "secret": VK_SECRET }),
            ]
        }
        Target::Viber => {
            let sender = json!({ "id": "01234567890A=", "name": "Анна", "language": "ru", "api_version": 10 });
            vec![
                json!({ "event": "message", "timestamp": 1_763_700_000_000u64, "message_token": 5_098_034_272_017_990_123u64, "sender": sender, "message": { "type": "text", "text": "Добрый день" } }),
                json!({ "event": "message", "timestamp": 1_763_700_000_000u64, "message_token": 5_098_034_272_017_990_124u64, "sender": sender, "message": { "type": "contact", "contact": { "name": "Анна", "phone_number": "+79001234567" } } }),
                json!({ "event": "message", "timestamp": 1_763_700_000_000u64, "message_token": 5_098_034_272_017_990_125u64, "sender": sender, "message": { "type": "location", "location": { "lat": 55.7, "lon": 37.6 } } }),
                json!({ "event": "conversation_started", "timestamp": 1_763_700_000_000u64, "message_token": 1u64, "type": "open", "user": sender, "subscribed": false }),
                json!({ "event": "unsubscribed", "timestamp": 1_763_700_000_000u64, "user_id": "01234567890A=", "message_token": 2u64 }),
                json!({ "event": "delivered", "timestamp": 1_763_700_000_000u64, "message_token": 3u64, "user_id": "01234567890A=" }),
                json!({ "event": "webhook", "timestamp": 1_763_700_000_000u64, "message_token": 4u64 }),
            ]
        }
        Target::WhatsApp => {
            let value = |msgs: Value| {
                json!({ "object": "whatsapp_business_account", "entry": [{ "id": "WABA1", "changes": [{ "field": "messages", "value": {
                "messaging_product": "whatsapp", "metadata": { "display_phone_number": "79990000000", "phone_number_id": WA_PNID },
                "contacts": [{ "profile": { "name": "Светлана" }, "wa_id": "79161234567" }], "messages": msgs } }] }] })
            };
            vec![
                value(
                    json!([{ "from": "79161234567", "id": "wamid.1", "timestamp": "1763700000", "type": "text", "text": { "body": "Можно заказать букет?" } }]),
                ),
                value(
                    json!([{ "from": "79161234567", "id": "wamid.2", "timestamp": "1763700000", "type": "image", "image": { "id": "MEDIA1", "mime_type": "image/jpeg" } }]),
                ),
                value(
                    json!([{ "from": "79161234567", "id": "wamid.3", "timestamp": "1763700000", "type": "location", "location": { "latitude": 55.7, "longitude": 37.6 } }]),
                ),
                value(
                    json!([{ "from": "79161234567", "id": "wamid.4", "timestamp": "1763700000", "type": "interactive", "interactive": { "type": "button_reply", "button_reply": { "id": "status", "title": "Статус" } } }]),
                ),
                json!({ "object": "whatsapp_business_account", "entry": [{ "id": "WABA1", "changes": [{ "field": "messages", "value": {
                    "messaging_product": "whatsapp", "metadata": { "display_phone_number": "79990000000", "phone_number_id": WA_PNID },
                    "statuses": [{ "id": "wamid.OUT", "status": "failed", "timestamp": "1763700001", "recipient_id": "79161234567", "errors": [{ "code": 131_047, "title": "Re-engagement message" }] }] } }] }] }),
            ]
        }
        Target::Ok => vec![
            json!({ "webhookType": "MESSAGE_CREATED", "sender": { "user_id": "user:5500", "name": "Галина" }, "recipient": { "chat_id": "chat:C3ecb9d02a600" },
                    "message": { "text": "Есть в наличии?", "seq": 98_211_023_614_189_660u64, "mid": "mid:1" }, "timestamp": 1_763_700_000_000u64 }),
            json!({ "webhookType": "MESSAGE_CREATED", "sender": { "user_id": "user:5500", "name": "Галина" }, "recipient": { "chat_id": "chat:C3ecb9d02a600" },
                    "message": { "text": "", "mid": "mid:2", "attachments": [{ "type": "CONTACT", "payload": { "name": "Г", "phone": "+79001112233" } }] }, "timestamp": 1_763_700_000_000u64 }),
            json!({ "webhookType": "MESSAGE_CALLBACK", "sender": { "user_id": "user:5500" }, "recipient": { "chat_id": "chat:C3ecb9d02a600" }, "callbackId": "cb", "payload": "status", "timestamp": 1_763_700_000_000u64 }),
        ],
        Target::Avito => vec![
            json!({ "id": "d-1", "version": "v3.0.0", "timestamp": 1_763_700_000, "payload": { "type": "message", "value": { "id": "m1", "chat_id": "u2i-abc", "user_id": 42, "author_id": 777,
                "created": 1_763_700_000, "type": "text", "chat_type": "u2i", "content": { "text": "Ещё продаёте?" }, "item_id": 3_123_456_789i64 } } }),
            json!({ "id": "d-2", "version": "v3.0.0", "timestamp": 1_763_700_000, "payload": { "type": "message", "value": { "id": "m2", "chat_id": "u2i-abc", "user_id": 42, "author_id": 42,
                "created": 1_763_700_000, "type": "text", "chat_type": "u2i", "content": { "text": "эхо" } } } }),
            json!({}),
        ],
        Target::Max => {
            let msg = |mid: &str, chat_type: &str, text: &str, attachments: Value| {
                json!({ "update_type": "message_created", "timestamp": 1_775_053_255_737i64, "user_locale": "ru",
                    "message": { "recipient": { "chat_id": -70_801_090_403_050i64, "chat_type": chat_type },
                        "timestamp": 1_775_053_255_737i64, "body": { "mid": mid, "seq": 1, "text": text, "attachments": attachments },
                        "sender": { "user_id": 5001, "first_name": "Ирина", "is_bot": false, "last_activity_time": 0, "name": "Ирина" } } })
            };
            vec![
                msg("mid.1", "dialog", "Здравствуйте, где заказ?", json!([])),
                msg(
                    "mid.2",
                    "dialog",
                    "",
                    json!([{ "type": "contact", "payload": { "vcf_info": "BEGIN:VCARD\r\nFN:И\r\nTEL:+79001234567\r\nEND:VCARD", "max_info": { "user_id": 5001 } } },
                           { "type": "location", "latitude": 55.75, "longitude": 37.61 }]),
                ),
                msg("mid.3", "chat", "@bot /config", json!([])),
                json!({ "update_type": "message_callback", "timestamp": 1, "callback": { "timestamp": 1, "callback_id": "cb1", "payload": "status",
                    "user": { "user_id": 5001, "first_name": "И", "is_bot": false, "last_activity_time": 0 } } }),
                json!({ "update_type": "bot_started", "timestamp": 1, "chat_id": 1, "user": { "user_id": 5001, "first_name": "И" }, "payload": "ref" }),
                json!({ "update_type": "bot_stopped", "timestamp": 1, "chat_id": 1, "user": { "user_id": 5001, "first_name": "И" } }),
            ]
        }
        Target::Api => vec![
            json!({ "contact": { "id": "cust-42", "name": "Иван Петров", "email": "ivan@example.com", "phone": "+79001234567" }, "message": { "id": "m1", "text": "Где заказ?" } }),
            json!({ "contact": { "id": "cust-43" }, "message": { "id": "m2", "text": "Второй" } }),
        ],
        Target::Widget => vec![
            json!({ "visitor": "visitor-token-0000000001", "client_id": "c1", "text": "Здравствуйте" }),
            json!({ "visitor": "visitor-token-0000000002", "client_id": "c2", "text": "Есть доставка?" }),
        ],
    }
}

/// The request that delivers `body` to this target, authenticated or forged.
fn request(
    app: &TestApp,
    tg_secret: &str,
    t: Target,
    auth: Auth,
    mut body: Vec<u8>,
) -> reqwest::RequestBuilder {
    let forged = auth == Auth::Forged;
    let post = |path: &str| {
        app.http
            .post(format!("{}{path}", app.url))
            .header("Content-Type", "application/json")
    };
    match t {
        Target::Telegram => post("/webhooks/tg")
            .header(
                "X-Telegram-Bot-Api-Secret-Token",
                if forged { "guess" } else { tg_secret },
            )
            .body(body),
        Target::Vk => {
            // VK's proof is the secret inside the body.
            if let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(&body) {
                if forged {
                    m.insert("secret".into(), json!("guess"));
                } else {
                    m.insert("secret".into(), json!(VK_SECRET));
                }
                body = serde_json::to_vec(&Value::Object(m)).unwrap_or_default();
            } else if !forged {
                body.clear();
            }
            post("/webhooks/vk").body(body)
        }
        Target::Viber => {
            // Viber stamps each callback; a stale one is refused as a replay.
            if let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(&body)
                && m.get("timestamp").is_some_and(Value::is_u64)
            {
                m.insert(
                    "timestamp".into(),
                    json!(chrono::Utc::now().timestamp_millis()),
                );
                body = serde_json::to_vec(&Value::Object(m)).unwrap_or_default();
            }
            let key = if forged { "not-the-token" } else { VIBER_TOKEN };
            let sig = perepiska::crypto::hmac_sha256_hex(key.as_bytes(), &body);
            post("/webhooks/viber")
                .header("X-Viber-Content-Signature", sig)
                .body(body)
        }
        Target::WhatsApp => {
            let key = if forged { "not-the-secret" } else { WA_SECRET };
            let sig = perepiska::crypto::hmac_sha256_hex(key.as_bytes(), &body);
            post("/webhooks/wa")
                .header("X-Hub-Signature-256", format!("sha256={sig}"))
                .body(body)
        }
        Target::Ok => post(&format!(
            "/webhooks/ok/{}",
            if forged {
                "guess-guess-guess-guess"
            } else {
                HOOK_SECRET
            }
        ))
        .body(body),
        Target::Avito => post(&format!(
            "/webhooks/avito/{}",
            if forged {
                "nope-nope-nope-nope"
            } else {
                HOOK_SECRET
            }
        ))
        .body(body),
        Target::Max => post("/webhooks/max")
            .header(
                "X-Max-Bot-Api-Secret",
                if forged { "guess-secret" } else { MAX_SECRET },
            )
            .body(body),
        Target::Api => {
            let key = if forged { "guess" } else { API_SECRET };
            let sig = perepiska::channels::api::signature(key, &body);
            post("/webhooks/crm")
                .header("X-Perepiska-Signature", sig)
                .body(body)
        }
        Target::Widget => post("/widget/web/messages").body(body),
    }
}

/// A case number, its body, and the status and text it was answered with (or why not).
type Answer = (usize, Vec<u8>, Result<(u16, String), String>);

async fn customer_messages(app: &TestApp) -> i64 {
    app.store()
        .read(perepiska::store::messages::count_from_customers)
        .await
        .unwrap()
}

fn excerpt(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_parser_survives_mutated_and_random_bodies() {
    let seed = std::env::var("PEREPISKA_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let tg = FakeTelegram::start().await;
    // Every other platform's API: nothing answers there but 404, on 127.0.0.1.
    let apis = MockServer::start().await;
    let api = apis.uri();
    // MAX's webhook is subscribed at start.
    wiremock::Mock::given(wiremock::matchers::path("/subscriptions"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(json!({ "success": true })),
        )
        .mount(&apis)
        .await;
    let toml = format!(
        "[[channels]]\nid = \"tg\"\nkind = \"telegram\"\ntoken = \"{TOKEN}\"\napi_base = \"{tg}\"\nmode = \"webhook\"\n\
         [[channels]]\nid = \"vk\"\nkind = \"vk\"\ngroup_id = {VK_GROUP}\naccess_token = \"vk1.a.token\"\nconfirmation = \"a1b2c3d4\"\nsecret = \"{VK_SECRET}\"\napi_base = \"{api}\"\n\
         [[channels]]\nid = \"viber\"\nkind = \"viber\"\ntoken = \"{VIBER_TOKEN}\"\napi_base = \"{api}\"\n\
         [[channels]]\nid = \"wa\"\nkind = \"whatsapp\"\nphone_number_id = \"{WA_PNID}\"\naccess_token = \"EAAG-token\"\napp_secret = \"{WA_SECRET}\"\nverify_token = \"verify-me\"\napi_base = \"{api}\"\n\
         [[channels]]\nid = \"ok\"\nkind = \"ok\"\naccess_token = \"tkn1.ok\"\nwebhook_secret = \"{HOOK_SECRET}\"\napi_base = \"{api}\"\n\
         [[channels]]\nid = \"avito\"\nkind = \"avito\"\nclient_id = \"cid\"\nclient_secret = \"csecret\"\nuser_id = 42\nwebhook_secret = \"{HOOK_SECRET}\"\napi_base = \"{api}\"\n\
         [[channels]]\nid = \"max\"\nkind = \"max\"\ntoken = \"{MAX_TOKEN}\"\nmode = \"webhook\"\nsecret = \"{MAX_SECRET}\"\napi_base = \"{api}\"\n\
         [[channels]]\nid = \"crm\"\nkind = \"api\"\ncallback_url = \"{api}/cb\"\nsecret = \"{API_SECRET}\"\n",
        tg = tg.url
    );
    let app = TestApp::spawn_with(|s| {
        std::fs::write(&s.channels_path, &toml).unwrap();
        s.public_url = Some("https://support.example.com".into());
    })
    .await;
    app.eventually("the Telegram webhook is registered", || async {
        tg.webhook().is_some()
    })
    .await;
    let (_, tg_secret) = tg.webhook().unwrap();
    let targets = [
        Target::Telegram,
        Target::Vk,
        Target::Viber,
        Target::WhatsApp,
        Target::Ok,
        Target::Avito,
        Target::Max,
        Target::Api,
        Target::Widget,
    ];
    let mut rng = Rng(seed);
    let mut tried = 0usize;
    for (ti, t) in targets.into_iter().enumerate() {
        let seeds = seeds(t);
        for auth in [Auth::Forged, Auth::Valid] {
            if t == Target::Widget && auth == Auth::Forged {
                continue;
            }
            let cases: Vec<(usize, Vec<u8>)> =
                (0..CASES).map(|i| (i, body(&mut rng, &seeds))).collect();
            let before = customer_messages(&app).await;
            let answers: Vec<Answer> = futures_util::stream::iter(cases)
                .map(|(i, b)| {
                    let req = request(&app, &tg_secret, t, auth, b.clone())
                        .timeout(Duration::from_secs(20));
                    async move {
                        let r = match req.send().await {
                            Ok(r) => {
                                let s = r.status().as_u16();
                                Ok((s, r.text().await.unwrap_or_default()))
                            }
                            Err(e) => Err(e.to_string()),
                        };
                        (i, b, r)
                    }
                })
                .buffer_unordered(8)
                .collect()
                .await;
            let mut accepted = 0i64;
            for (i, b, r) in &answers {
                let at = format!("seed {seed}, {t:?} {auth:?} case {i}: {}", excerpt(b));
                let (status, text) = r
                    .as_ref()
                    .unwrap_or_else(|e| panic!("no answer ({e}) at {at}"));
                assert!(*status < 500, "{status} {text} at {at}");
                if auth == Auth::Forged {
                    assert!(
                        (400..500).contains(status),
                        "a forged request was accepted ({status}) at {at}"
                    );
                }
                if *status == 200 {
                    accepted += 1;
                }
            }
            tried += answers.len();
            let after = customer_messages(&app).await;
            if auth == Auth::Forged {
                assert_eq!(
                    after, before,
                    "seed {seed}: forged {t:?} requests stored messages"
                );
            } else {
                // Nothing refused was stored: at most one message per accepted request (a
                // notification may carry several, so this bound is for one-message seeds).
                if matches!(t, Target::Widget | Target::Api) {
                    assert!(
                        after - before <= accepted,
                        "seed {seed}: {t:?} stored {} for {accepted} accepted",
                        after - before
                    );
                }
            }
            println!(
                "{t:?} {auth:?}: {accepted} accepted, {} stored",
                after - before
            );
            let _ = ti;
        }
    }
    let s = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(s, 200, "still serving after {tried} bodies");
    println!("fuzz: {tried} bodies, seed {seed}, 0 answered 5xx, 0 unanswered");
}
