//! The customer bot's whole journey (new request, status, comment, resolution and rating,
//! cancel), driven the same way on every platform through its own fake API. Each platform
//! test says how a customer writes and presses a button there and how to read what was sent.

use reqwest::Method;
use serde_json::{Value, json};

use super::{ADMIN_EMAIL, TestApp};

/// One message the bot sent to the customer, with its buttons as (label, data).
#[derive(Clone, Debug)]
pub struct Reply {
    pub text: String,
    pub buttons: Vec<(String, String)>,
}

impl Reply {
    pub fn has(&self, data: &str) -> bool {
        self.buttons.iter().any(|(_, d)| d == data)
    }
}

#[allow(async_fn_in_trait)]
pub trait Customer {
    /// Sends a text message as the customer; `n` makes the platform message id unique.
    async fn say(&mut self, app: &TestApp, n: u32, text: &str);
    /// Presses the bot's button carrying `data`.
    async fn press(&mut self, app: &TestApp, n: u32, data: &str);
    /// Everything sent to the customer so far, in order.
    async fn replies(&self) -> Vec<Reply>;
}

struct Driver<'a, C: Customer> {
    app: &'a TestApp,
    customer: &'a mut C,
    seen: usize,
    n: u32,
}

impl<C: Customer> Driver<'_, C> {
    async fn say(&mut self, text: &str) {
        self.n += 1;
        self.customer.say(self.app, self.n, text).await;
    }

    async fn press(&mut self, data: &str) {
        self.n += 1;
        self.customer.press(self.app, self.n, data).await;
    }

    /// Waits for the next reply (after the last one expected) that satisfies `check`.
    async fn expect(&mut self, what: &str, check: impl Fn(&Reply) -> bool) -> Reply {
        let mut found = None;
        for _ in 0..250 {
            let all = self.customer.replies().await;
            if let Some((i, r)) = all
                .iter()
                .enumerate()
                .skip(self.seen)
                .find(|(_, r)| check(r))
            {
                found = Some((i, r.clone()));
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let Some((i, r)) = found else {
            let all = self.customer.replies().await;
            panic!(
                "no reply: {what}; sent after #{}: {:#?}",
                self.seen,
                &all[self.seen.min(all.len())..]
            );
        };
        self.seen = i + 1;
        r
    }
}

async fn conversation(app: &TestApp, token: &str, channel: &str, number: i64) -> Value {
    let (_, v) = app
        .api(
            token,
            Method::GET,
            &format!("/conversations?channel={channel}"),
            None,
        )
        .await;
    let id = v["data"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["number"] == number))
        .and_then(|c| c["id"].as_i64())
        .unwrap_or_else(|| panic!("request #{number} in {channel}: {v}"));
    let (_, c) = app
        .api(token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    c
}

pub async fn full_journey(app: &TestApp, channel: &str, customer: &mut impl Customer) {
    let token = app.api_token(ADMIN_EMAIL).await;
    let mut d = Driver {
        app,
        customer,
        seen: 0,
        n: 0,
    };

    d.say("/start").await;
    d.expect("a menu with New request", |r| {
        r.has("new") && r.has("contact_me")
    })
    .await;
    d.press("new").await;
    d.expect("the prompt", |r| r.text.starts_with("Опишите ваш вопрос"))
        .await;
    d.say("Нужен торт на 20 человек к субботе").await;
    d.expect("registered", |r| {
        r.text == "✔️ Ваша заявка зарегистрирована под номером #1"
    })
    .await;
    d.expect("the full menu", |r| {
        r.has("status") && r.has("comment") && r.has("cancel")
    })
    .await;
    let first = conversation(app, &token, channel, 1).await;
    let id = first["id"].as_i64().unwrap();
    assert_eq!(first["subject"], "Нужен торт на 20 человек к субботе");

    d.press("status").await;
    d.expect("the status", |r| {
        r.text.contains("#1 Нужен торт на 20 человек к субботе") && r.text.contains("Статус: Новое")
    })
    .await;

    d.press("comment").await;
    d.expect("the comment prompt", |r| {
        r.text.starts_with("Напишите комментарий к заявке #1")
    })
    .await;
    d.say("Надпись «С днём рождения, Маша»").await;
    d.expect("comment added", |r| {
        r.text == "💬 Комментарий добавлен к заявке #1"
    })
    .await;
    let texts: Vec<Value> = app
        .thread(&token, id)
        .await
        .into_iter()
        .filter(|m| m["kind"] == "customer")
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(
        texts,
        vec![
            json!("Нужен торт на 20 человек к субботе"),
            json!("Надпись «С днём рождения, Маша»")
        ]
    );

    // The operator resolves it; the customer rates it from the platform's buttons.
    let (s, _) = app
        .api(
            &token,
            Method::PATCH,
            &format!("/conversations/{id}"),
            Some(json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(s, 200);
    let rate = format!("rate:{id}");
    d.expect("resolved, with a rate button", |r| {
        r.text.starts_with("✅ Заявка #1") && r.has(&rate)
    })
    .await;
    d.press(&rate).await;
    let five = format!("stars:{id}:5");
    let stars = d.expect("five choices", |r| r.has(&five)).await;
    assert_eq!(stars.buttons.len(), 5, "{stars:?}");
    d.press(&five).await;
    d.expect("asked for a comment", |r| {
        r.text.starts_with("Спасибо! Добавьте комментарий")
    })
    .await;
    let c = conversation(app, &token, channel, 1).await;
    assert_eq!(c["rating"], 5);
    assert_eq!(c["status"], "closed", "a rating closes a resolved request");
    d.say("Очень вкусно, спасибо").await;
    d.expect("thanks", |r| {
        r.text == "Спасибо за оценку! Заявка #1 закрыта."
    })
    .await;
    assert_eq!(
        conversation(app, &token, channel, 1).await["rating_comment"],
        "Очень вкусно, спасибо"
    );

    // A second request, cancelled by the customer.
    d.press("new").await;
    d.expect("the prompt again", |r| {
        r.text.starts_with("Опишите ваш вопрос")
    })
    .await;
    d.say("Ещё 12 капкейков").await;
    d.expect("registered #2", |r| {
        r.text == "✔️ Ваша заявка зарегистрирована под номером #2"
    })
    .await;
    let second = conversation(app, &token, channel, 2).await["id"]
        .as_i64()
        .unwrap();
    d.press("cancel").await;
    let x = format!("x:{second}");
    d.expect("which one to cancel", |r| r.has(&x)).await;
    d.press(&x).await;
    d.expect("cancelled", |r| r.text == "🛑 Заявка #2 отменена")
        .await;
    assert_eq!(
        conversation(app, &token, channel, 2).await["status"],
        "cancelled"
    );
}
