//! `perepiska seed`: realistic conversations written in bulk, for benchmarks and demos.
//! The rows are the ones real traffic writes (same tables, numbers from the project's own
//! allocator, closed_at set exactly for final statuses, the search indexes kept by the same
//! triggers and indexes), written as multi-row INSERTs of generated values only.

use std::fmt::Write as _;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::DbConn;
use super::schema::conversations;
use crate::domain::text::{SUBJECT_CHARS, subject_from};
use crate::domain::{ChannelId, ProjectId};
use crate::error::Result;

/// What to write, the same for every chunk.
#[derive(Clone, Debug)]
pub struct Plan {
    pub project_id: ProjectId,
    /// Conversations in all (the chunks' indexes run over 0..total).
    pub total: i64,
    pub messages_per_conversation: i64,
    pub channels: Vec<ChannelId>,
    pub operators: Vec<i64>,
    pub teams: Vec<i64>,
    /// The newest conversation's time; the oldest is two years before.
    pub now: NaiveDateTime,
    /// How many of the newest conversations are still open (each with a pending
    /// auto-close timer, as the widget's `auto_close_after` arms).
    pub open: i64,
    /// How many of those timers are already due (the oldest open conversations').
    pub due: i64,
}

/// Conversations written per transaction.
pub const CHUNK: i64 = 10_000;
const ROWS_PER_INSERT: usize = 500;
const SPAN_DAYS: i64 = 730;

pub fn has_conversations(conn: &mut DbConn, project_id: ProjectId) -> Result<bool> {
    Ok(conversations::table
        .filter(conversations::project_id.eq(project_id))
        .select(conversations::id)
        .first::<crate::domain::ConversationId>(conn)
        .optional()?
        .is_some())
}

/// splitmix64: reproducible data from the conversation's index alone.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    /// True `pct` times in a hundred.
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

const FIRST_RU: [(&str, &str); 16] = [
    ("Иван", "ivan"),
    ("Алексей", "aleksey"),
    ("Дмитрий", "dmitry"),
    ("Сергей", "sergey"),
    ("Андрей", "andrey"),
    ("Михаил", "mikhail"),
    ("Николай", "nikolay"),
    ("Павел", "pavel"),
    ("Анна", "anna"),
    ("Мария", "maria"),
    ("Елена", "elena"),
    ("Ольга", "olga"),
    ("Наталья", "natalia"),
    ("Татьяна", "tatiana"),
    ("Ксения", "ksenia"),
    ("Юлия", "yulia"),
];
const LAST_RU: [(&str, &str, &str); 12] = [
    ("Иванов", "Иванова", "ivanov"),
    ("Смирнов", "Смирнова", "smirnov"),
    ("Кузнецов", "Кузнецова", "kuznetsov"),
    ("Попов", "Попова", "popov"),
    ("Соколов", "Соколова", "sokolov"),
    ("Лебедев", "Лебедева", "lebedev"),
    ("Козлов", "Козлова", "kozlov"),
    ("Новиков", "Новикова", "novikov"),
    ("Морозов", "Морозова", "morozov"),
    ("Волков", "Волкова", "volkov"),
    ("Соловьёв", "Соловьёва", "solovyov"),
    ("Зайцев", "Зайцева", "zaytsev"),
];
const FIRST_EN: [&str; 10] = [
    "James", "Emma", "Oliver", "Sophia", "Liam", "Mia", "Noah", "Ava", "Lucas", "Chloe",
];
const LAST_EN: [&str; 10] = [
    "Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Clark", "Walker", "Young", "King",
];
const MAIL_HOSTS: [&str; 5] = ["mail.ru", "yandex.ru", "gmail.com", "inbox.ru", "bk.ru"];

const PRODUCTS_RU: [&str; 10] = [
    "кроссовки",
    "куртку",
    "чайник",
    "наушники",
    "рюкзак",
    "пылесос",
    "телефон",
    "часы",
    "кофеварку",
    "самокат",
];
const CITIES_RU: [&str; 8] = [
    "Москве",
    "Казани",
    "Новосибирске",
    "Екатеринбурге",
    "Санкт-Петербурге",
    "Самаре",
    "Краснодаре",
    "Перми",
];
const PRODUCTS_EN: [&str; 8] = [
    "sneakers",
    "jacket",
    "kettle",
    "headphones",
    "backpack",
    "vacuum cleaner",
    "phone",
    "watch",
];
const CITIES_EN: [&str; 5] = ["London", "Berlin", "Dubai", "Riga", "Almaty"];

fn customer_text(rng: &mut Rng, ru: bool, order: u64, first: bool) -> String {
    if ru {
        let p = rng.pick(&PRODUCTS_RU);
        let c = rng.pick(&CITIES_RU);
        match rng.below(if first { 8 } else { 12 }) {
            0 => format!("Здравствуйте! Где мой заказ №{order}? Обещали доставку вчера."),
            1 => "Не проходит оплата картой, пишет «ошибка банка». Что делать?".to_string(),
            2 => format!("Хочу вернуть {p}, не подошёл размер. Заказ {order}."),
            3 => format!("Добрый день, подскажите, есть ли {p} в наличии в {c}?"),
            4 => format!("Курьер не приехал, жду с утра. Заказ {order}."),
            5 => format!("Как изменить адрес доставки? Теперь нужно в {c}."),
            6 => format!(
                "Можно оформить счёт для юрлица? ИНН 77{:08}",
                order % 100_000_000
            ),
            7 => format!("Пришёл не тот товар: заказывал {p}, а привезли другое."),
            8 => "Спасибо, всё получил!".to_string(),
            9 => "Хорошо, жду.".to_string(),
            10 => format!("А когда точно? Мне нужно быть в {c} к вечеру."),
            _ => "Да, всё верно.".to_string(),
        }
    } else {
        let p = rng.pick(&PRODUCTS_EN);
        let c = rng.pick(&CITIES_EN);
        match rng.below(if first { 6 } else { 9 }) {
            0 => format!("Hello! Where is my order #{order}? It was due yesterday."),
            1 => "My card payment keeps failing with a bank error. What can I do?".to_string(),
            2 => format!("I'd like to return the {p}, wrong size. Order {order}."),
            3 => format!("Hi, is the {p} in stock in {c}?"),
            4 => format!("The courier never came, I waited all morning. Order {order}."),
            5 => format!("How do I change the delivery address? It should go to {c} now."),
            6 => "Thanks, got it!".to_string(),
            7 => "OK, waiting.".to_string(),
            _ => "Yes, that's right.".to_string(),
        }
    }
}

fn operator_text(rng: &mut Rng, ru: bool, name: &str, order: u64) -> String {
    if ru {
        match rng.below(7) {
            0 => format!("Здравствуйте, {name}! Проверяю заказ {order}, минуту."),
            1 => format!("Заказ передан в службу доставки, трек-номер RU{order}CN."),
            2 => "Возврат оформлен, деньги вернутся за 3–5 рабочих дней.".to_string(),
            3 => "Да, есть в наличии, можем отложить на два дня.".to_string(),
            4 => "Извините за задержку, курьер будет сегодня до 18:00.".to_string(),
            5 => "Попробуйте, пожалуйста, оплатить ещё раз или другой картой.".to_string(),
            _ => "Рады помочь! Оцените, пожалуйста, нашу работу.".to_string(),
        }
    } else {
        match rng.below(6) {
            0 => format!("Hello {name}! Checking order {order}, one moment."),
            1 => format!("Your order is with the courier, tracking number GB{order}."),
            2 => "The refund is on its way, 3-5 business days.".to_string(),
            3 => "Yes, it is in stock, we can hold it for two days.".to_string(),
            4 => "Sorry for the wait, the courier will be there by 6 pm today.".to_string(),
            _ => "Glad to help! Please rate our work.".to_string(),
        }
    }
}

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn qo(s: &Option<String>) -> String {
    s.as_deref().map(q).unwrap_or_else(|| "NULL".into())
}

/// The text diesel writes for a timestamp, so seeded rows sort with real ones on SQLite.
fn ts(t: NaiveDateTime) -> String {
    q(&t.format("%F %T%.f").to_string())
}

fn tso(t: Option<NaiveDateTime>) -> String {
    t.map(ts).unwrap_or_else(|| "NULL".into())
}

fn io(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "NULL".into())
}

/// `count` fresh ids for `table`. SQLite: inside the write transaction nobody else inserts.
/// PostgreSQL: taken from the serial sequence one by one in one query (a range moved with
/// setval could interleave with another connection's nextval).
fn reserve_ids(conn: &mut DbConn, table: &str, count: i64) -> Result<Vec<i64>> {
    Ok(match conn {
        DbConn::Postgresql(_) => super::next_values(
            conn,
            &format!("pg_get_serial_sequence('{table}', 'id')"),
            count,
        )?,
        DbConn::Sqlite(_) => {
            let first: super::Number =
                diesel::sql_query(format!("SELECT coalesce(max(id), 0) + 1 AS n FROM {table}"))
                    .get_result(conn)?;
            (first.n..first.n + count).collect()
        }
    })
}

struct Insert {
    head: String,
    rows: Vec<String>,
}

impl Insert {
    fn new(table: &str, columns: &str) -> Insert {
        Insert {
            head: format!("INSERT INTO {table} ({columns}) VALUES "),
            rows: Vec::new(),
        }
    }
    fn push(&mut self, conn: &mut DbConn, row: String) -> Result<()> {
        self.rows.push(row);
        if self.rows.len() >= ROWS_PER_INSERT {
            self.flush(conn)?;
        }
        Ok(())
    }
    fn flush(&mut self, conn: &mut DbConn) -> Result<()> {
        for part in self.rows.chunks(ROWS_PER_INSERT) {
            let mut sql = String::with_capacity(self.head.len() + part.len() * 200);
            sql.push_str(&self.head);
            sql.push_str(&part.join(","));
            diesel::sql_query(sql).execute(conn)?;
        }
        self.rows.clear();
        Ok(())
    }
}

struct Person {
    name: String,
    email: Option<String>,
    phone: Option<String>,
    ru: bool,
    first: String,
}

fn person(rng: &mut Rng, n: i64) -> Person {
    let ru = rng.chance(80);
    let (name, first, latin) = if ru {
        let i = rng.below(FIRST_RU.len() as u64) as usize;
        let (f, fl) = FIRST_RU[i];
        let (m, w, ll) = *rng.pick(&LAST_RU);
        let last = if i >= 8 { w } else { m };
        (format!("{f} {last}"), f.to_string(), format!("{fl}.{ll}"))
    } else {
        let f = *rng.pick(&FIRST_EN);
        let l = *rng.pick(&LAST_EN);
        (
            format!("{f} {l}"),
            f.to_string(),
            format!("{}.{}", f.to_lowercase(), l.to_lowercase()),
        )
    };
    let email = rng
        .chance(60)
        .then(|| format!("{latin}{}@{}", n % 10_000, rng.pick(&MAIL_HOSTS)));
    let phone = rng
        .chance(70)
        .then(|| format!("+79{:09}", rng.below(1_000_000_000)));
    Person {
        name,
        email,
        phone,
        ru,
        first,
    }
}

/// Writes conversations `from..from + count` of the plan (one transaction is the caller's).
/// Returns the messages written.
pub fn chunk(conn: &mut DbConn, plan: &Plan, from: i64, count: i64) -> Result<i64> {
    if let DbConn::Postgresql(_) = conn {
        // Foreign-key checks lock each parent row and were most of PostgreSQL's time here.
        // Every id below was reserved in this transaction, so they hold by construction
        // (and SQLite, which checks them, runs the same generator). Only a role allowed to
        // set this may skip them; for others the savepoint keeps the transaction usable.
        diesel::sql_query("SAVEPOINT seed_role").execute(conn)?;
        match diesel::sql_query("SET LOCAL session_replication_role = replica").execute(conn) {
            Ok(_) => diesel::sql_query("RELEASE SAVEPOINT seed_role").execute(conn)?,
            Err(_) => diesel::sql_query("ROLLBACK TO SAVEPOINT seed_role").execute(conn)?,
        };
    }
    let (yes, no) = ("TRUE", "FALSE");
    let m = plan.messages_per_conversation.max(1);
    // About four contacts for five conversations: some customers come back.
    let contacts = ((count * 4 + 4) / 5).max(1);
    let contact_ids = reserve_ids(conn, "contacts", contacts)?;
    let identity_ids = reserve_ids(conn, "contact_identities", contacts)?;
    let conv_ids = reserve_ids(conn, "conversations", count)?;
    let message_ids = reserve_ids(conn, "messages", count * m)?;
    let numbers = super::projects::reserve_numbers(conn, plan.project_id, count)?;
    let pid = plan.project_id.0;
    let span = Duration::days(SPAN_DAYS).num_seconds();
    let oldest = plan.now - Duration::days(SPAN_DAYS);
    // The newest conversations are still being worked on; the rest are done.
    let open_tail = plan.open.min(plan.total);

    let mut people = Vec::with_capacity(contacts as usize);
    let mut ins_contacts = Insert::new(
        "contacts",
        "id, project_id, name, phone, phone_key, email, vip, language, created_at, updated_at",
    );
    let mut ins_identities = Insert::new(
        "contact_identities",
        "id, project_id, channel_id, external_id, contact_id, blocked, created_at",
    );
    for k in 0..contacts {
        let g = from + k * count / contacts;
        let mut rng = Rng::new(0xC0_0000 ^ (g as u64));
        let p = person(&mut rng, g);
        let channel = plan.channels[(g as usize) % plan.channels.len()];
        let created = oldest + Duration::seconds(g * span / plan.total.max(1));
        let id = contact_ids[k as usize];
        ins_contacts.push(
            conn,
            format!(
                "({id},{pid},{},{},{},{},{},{},{},{})",
                q(&p.name),
                qo(&p.phone),
                qo(&p
                    .phone
                    .as_deref()
                    .and_then(crate::domain::contact::phone_key)),
                qo(&p.email),
                if rng.chance(2) { yes } else { no },
                q(if p.ru { "ru" } else { "en" }),
                ts(created),
                ts(created),
            ),
        )?;
        ins_identities.push(
            conn,
            format!(
                "({},{pid},{},{},{id},{no},{})",
                identity_ids[k as usize],
                channel.0,
                q(&format!("seed-{id}")),
                ts(created),
            ),
        )?;
        people.push((p, channel));
    }
    ins_contacts.flush(conn)?;
    ins_identities.flush(conn)?;

    let mut ins_convs = Insert::new(
        "conversations",
        "id, project_id, number, contact_id, channel_id, subject, status, priority, \
         assignee_id, team_id, unread, created_at, updated_at, last_message_at, \
         last_customer_at, last_operator_at, closed_at, rating, rating_comment, \
         first_customer_at, first_response_at, first_response_secs, first_response_work_secs, \
         resolved_at, resolution_secs, resolution_work_secs, reopens, messages_in, messages_out",
    );
    let mut ins_messages = Insert::new(
        "messages",
        "id, project_id, conversation_id, kind, author_id, text, delivery, created_at",
    );
    let mut ins_timers = Insert::new(
        "timers",
        "project_id, conversation_id, kind, step, due_at, state",
    );
    let mut written = 0;
    for j in 0..count {
        let g = from + j;
        let mut rng = Rng::new(g as u64);
        let k = (j * contacts / count).min(contacts - 1);
        let (p, channel) = &people[k as usize];
        let open = g >= plan.total - open_tail;
        let created = oldest
            + Duration::seconds(g * span / plan.total.max(1))
            + Duration::seconds(rng.below(600) as i64);
        let created = created.min(plan.now - Duration::minutes(m * 30));
        let assignee = if (open && rng.chance(35)) || plan.operators.is_empty() {
            None
        } else {
            Some(*rng.pick(&plan.operators))
        };
        let team = (!plan.teams.is_empty() && rng.chance(60)).then(|| *rng.pick(&plan.teams));
        let order = 100_000 + rng.below(900_000);
        let mut t = created;
        let (mut last_customer, mut last_operator) = (None, None);
        let mut first_response = None;
        let mut subject = String::new();
        let conv_id = conv_ids[j as usize];
        for i in 0..m {
            let customer = i % 2 == 0;
            let text = if customer {
                customer_text(&mut rng, p.ru, order, i == 0)
            } else {
                operator_text(&mut rng, p.ru, &p.first, order)
            };
            if i == 0 {
                subject = subject_from(&text, SUBJECT_CHARS);
            }
            let (kind, author, delivery) = if customer {
                last_customer = Some(t);
                ("customer", None, "received")
            } else {
                last_operator = Some(t);
                first_response = first_response.or(Some(t));
                (
                    "operator",
                    assignee.or_else(|| plan.operators.first().copied()),
                    if rng.chance(70) { "read" } else { "delivered" },
                )
            };
            ins_messages.rows.push(format!(
                "({},{pid},{conv_id},'{kind}',{},{},'{delivery}',{})",
                message_ids[(j * m + i) as usize],
                io(author),
                q(&text),
                ts(t),
            ));
            t += Duration::seconds(30 + rng.below(1800) as i64);
        }
        written += m;
        let last = t - Duration::seconds(30);
        let status = if open {
            *rng.pick(&[
                "new", "open", "open", "pending", "pending", "reopened", "resolved",
            ])
        } else if rng.chance(4) {
            "cancelled"
        } else {
            "closed"
        };
        let final_ = status == "closed" || status == "cancelled";
        let closed_at =
            final_.then(|| (last + Duration::hours(1 + rng.below(47) as i64)).min(plan.now));
        let rating = (status == "closed" && rng.chance(30))
            .then(|| *rng.pick(&[5, 5, 5, 5, 5, 5, 4, 4, 3, 2, 1]) as i64);
        let comment = rating.filter(|_| rng.chance(20)).map(|r| {
            match (r >= 4, p.ru) {
                (true, true) => "Быстро и вежливо, спасибо!",
                (false, true) => "Долго ждал ответа.",
                (true, false) => "Quick and friendly, thanks!",
                (false, false) => "Took too long.",
            }
            .to_string()
        });
        let priority = *rng.pick(&[
            "normal", "normal", "normal", "normal", "normal", "normal", "normal", "normal", "high",
            "high", "low", "urgent",
        ]);
        let unread = open && m % 2 == 1;
        // The measures real traffic keeps (a seeded project has no schedule: working time is
        // calendar time).
        let answered = first_response.map(|r| (r - created).num_seconds());
        let resolved = (status == "closed").then_some(closed_at).flatten();
        let resolution = resolved.map(|r| (r - created).num_seconds());
        let reopens = i64::from(resolved.is_some() && rng.chance(6));
        let into = (m + 1) / 2;
        let mut row = String::with_capacity(300);
        let _ = write!(
            row,
            "({conv_id},{pid},{},{},{},{},'{status}','{priority}',{},{},{},{},{},{},{},{},{},{},{},\
             {},{},{},{},{},{},{},{reopens},{into},{})",
            numbers[j as usize],
            contact_ids[k as usize],
            channel.0,
            q(&subject),
            io(assignee),
            io(team),
            if unread { yes } else { no },
            ts(created),
            ts(closed_at.unwrap_or(last)),
            ts(last),
            tso(last_customer),
            tso(last_operator),
            tso(closed_at),
            io(rating),
            qo(&comment),
            ts(created),
            tso(first_response),
            io(answered),
            io(answered),
            tso(resolved),
            io(resolution),
            io(resolution),
            m - into,
        );
        if open {
            let due = if g - (plan.total - open_tail) < plan.due {
                plan.now - Duration::minutes(1)
            } else {
                // Not due yet, even for an open conversation seeded long ago: spread over the
                // next three days, as a live project's auto-closes are.
                (last + Duration::days(3))
                    .max(plan.now + Duration::hours(1) + Duration::seconds(g % (3 * 86_400)))
            };
            ins_timers.rows.push(format!(
                "({pid},{conv_id},'auto_close',0,{},'pending')",
                ts(due)
            ));
        }
        ins_convs.push(conn, row)?;
        // Messages and timers after their conversations: their foreign keys point at them.
        if ins_convs.rows.is_empty() {
            ins_messages.flush(conn)?;
            ins_timers.flush(conn)?;
        }
    }
    ins_convs.flush(conn)?;
    ins_messages.flush(conn)?;
    ins_timers.flush(conn)?;
    Ok(written)
}

/// After a bulk load: PostgreSQL plans from fresh statistics (autovacuum would get there
/// later); SQLite plans without them.
pub fn analyze(conn: &mut DbConn) -> Result<()> {
    if let DbConn::Postgresql(_) = conn {
        // VACUUM also moves the GIN indexes' pending entries into the index proper.
        diesel::sql_query("VACUUM ANALYZE").execute(conn)?;
    }
    Ok(())
}
