//! The keys each kind takes, as the settings form shows them: which are secrets (never shown
//! again, only replaced), which the server makes up when left empty, and a line of help saying
//! where the admin finds each value. The adapters' `from_config` stays the one validator.

use crate::domain::ChannelKind;
use crate::i18n::Lang;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    Text,
    Number,
    /// A URL the platform or our server calls.
    Url,
    /// "#rrggbb".
    Color,
    /// One of these values, each with its [Russian, English] label.
    Choice(&'static [(&'static str, [&'static str; 2])]),
    /// true or false.
    Flag,
    /// A list, one item per line.
    Lines,
}

#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub key: &'static str,
    pub input: Input,
    /// Stored sealed and never shown again; an empty field on an edit keeps the stored one.
    pub secret: bool,
    pub required: bool,
    /// Left empty, the server makes an unguessable one (and shows it where it must be pasted).
    pub generated: bool,
    label: [&'static str; 2],
    help: [&'static str; 2],
}

impl Field {
    pub fn label(&self, lang: Lang) -> &'static str {
        lang.pick_of(self.label)
    }
    pub fn help(&self, lang: Lang) -> &'static str {
        lang.pick_of(self.help)
    }
}

const fn field(
    key: &'static str,
    input: Input,
    secret: bool,
    required: bool,
    label: [&'static str; 2],
    help: [&'static str; 2],
) -> Field {
    Field {
        key,
        input,
        secret,
        required,
        generated: false,
        label,
        help,
    }
}

const fn generated(key: &'static str, label: [&'static str; 2], help: [&'static str; 2]) -> Field {
    Field {
        key,
        input: Input::Text,
        secret: true,
        required: false,
        generated: true,
        label,
        help,
    }
}

const API_BASE: Field = field(
    "api_base",
    Input::Url,
    false,
    false,
    ["Адрес API (необязательно)", "API address (optional)"],
    [
        "Только для локального сервера API платформы или тестов; обычно оставьте пустым.",
        "Only for a local platform API server or tests; usually leave empty.",
    ],
);

const TELEGRAM: &[Field] = &[
    field(
        "token",
        Input::Text,
        true,
        true,
        ["Токен бота", "Bot token"],
        [
            "@BotFather → /newbot (или /mybots → API Token): строка вида 123456:ABC-DEF…",
            "@BotFather → /newbot (or /mybots → API Token): looks like 123456:ABC-DEF…",
        ],
    ),
    API_BASE,
];

const MAX: &[Field] = &[
    field(
        "token",
        Input::Text,
        true,
        true,
        ["Токен бота", "Bot token"],
        [
            "business.max.ru → Чат-боты → ваш бот → Интеграция → «Получить токен».",
            "business.max.ru → Chat bots → your bot → Integration → \"Get token\".",
        ],
    ),
    field(
        "mode",
        Input::Choice(&[
            ("", ["Автоматически", "Automatically"]),
            (
                "polling",
                [
                    "Long polling (без публичного адреса)",
                    "Long polling (no public address)",
                ],
            ),
            (
                "webhook",
                [
                    "Вебхук (MAX вызывает наш адрес)",
                    "Webhook (MAX calls our address)",
                ],
            ),
        ]),
        false,
        false,
        ["Как получать сообщения", "How messages arrive"],
        [
            "Автоматически — вебхук, если у сервера есть публичный https-адрес, иначе long polling.",
            "Automatically: a webhook when the server has a public https address, long polling otherwise.",
        ],
    ),
    field(
        "secret",
        Input::Text,
        true,
        false,
        ["Секрет вебхука", "Webhook secret"],
        [
            "5-256 символов A-Z, a-z, 0-9, _ и -; MAX присылает его в заголовке X-Max-Bot-Api-Secret. Пусто — выводится из токена.",
            "5-256 characters of A-Z, a-z, 0-9, _ and -; MAX sends it in the X-Max-Bot-Api-Secret header. Empty: derived from the token.",
        ],
    ),
    API_BASE,
];

const VK: &[Field] = &[
    field(
        "group_id",
        Input::Number,
        false,
        true,
        ["ID сообщества", "Community id"],
        [
            "Число из адреса сообщества или Управление → Работа с API.",
            "The number in the community's address, or Manage → API usage.",
        ],
    ),
    field(
        "access_token",
        Input::Text,
        true,
        true,
        ["Ключ доступа сообщества", "Community token"],
        [
            "Управление → Работа с API → Ключи доступа → Создать ключ (права: сообщения, управление).",
            "Manage → API usage → Access tokens → Create (rights: messages, manage).",
        ],
    ),
    field(
        "confirmation",
        Input::Text,
        false,
        false,
        ["Строка подтверждения", "Confirmation string"],
        [
            "Работа с API → Callback API: «Строка, которую должен вернуть сервер». Если у сервера есть публичный адрес, оставьте пустым: адрес, ключ и события будут настроены через API ВКонтакте.",
            "API usage → Callback API: \"String to be returned by the server\". With a public server address leave it empty: the address, key and events are set up through VK's API.",
        ],
    ),
    generated(
        "secret",
        ["Секретный ключ Callback API", "Callback API secret key"],
        [
            "Оставьте пустым — будет создан; вставьте его в Callback API → «Секретный ключ».",
            "Leave empty to have one made; paste it into Callback API → \"Secret key\".",
        ],
    ),
    API_BASE,
];

const VIBER: &[Field] = &[
    field(
        "token",
        Input::Text,
        true,
        true,
        ["Токен бота", "Bot token"],
        [
            "partners.viber.com → ваш бот → Info → Token.",
            "partners.viber.com → your bot → Info → Token.",
        ],
    ),
    field(
        "sender_name",
        Input::Text,
        false,
        false,
        ["Имя отправителя", "Sender name"],
        [
            "Как клиенты видят отправителя; по умолчанию — название канала.",
            "How customers see the sender; the channel's name by default.",
        ],
    ),
    field(
        "welcome_message",
        Input::Text,
        false,
        false,
        [
            "Приветствие при открытии чата",
            "Welcome when the chat is opened",
        ],
        [
            "Viber показывает его до первого сообщения клиента.",
            "Viber shows it before the customer's first message.",
        ],
    ),
    API_BASE,
];

const WHATSAPP: &[Field] = &[
    field(
        "phone_number_id",
        Input::Text,
        false,
        true,
        ["Phone number ID", "Phone number ID"],
        [
            "Meta for Developers → приложение → WhatsApp → API Setup → Phone number ID.",
            "Meta for Developers → your app → WhatsApp → API Setup → Phone number ID.",
        ],
    ),
    field(
        "access_token",
        Input::Text,
        true,
        true,
        ["Постоянный токен", "Permanent token"],
        [
            "Business Settings → System users → Generate token (whatsapp_business_messaging).",
            "Business Settings → System users → Generate token (whatsapp_business_messaging).",
        ],
    ),
    field(
        "app_secret",
        Input::Text,
        true,
        true,
        ["App secret", "App secret"],
        [
            "Приложение → App settings → Basic → App secret: им подписаны вебхуки.",
            "Your app → App settings → Basic → App secret: webhooks are signed with it.",
        ],
    ),
    generated(
        "verify_token",
        ["Verify token", "Verify token"],
        [
            "Оставьте пустым — будет создан; вставьте его в WhatsApp → Configuration → Webhook.",
            "Leave empty to have one made; paste it into WhatsApp → Configuration → Webhook.",
        ],
    ),
    API_BASE,
];

const OK: &[Field] = &[
    field(
        "access_token",
        Input::Text,
        true,
        true,
        ["Токен группы", "Group token"],
        [
            "Группа → Управление → Сообщения → API для чат-ботов → Получить токен.",
            "Group → Manage → Messages → Chat bot API → Get token.",
        ],
    ),
    generated(
        "webhook_secret",
        ["Секрет адреса вебхука", "Webhook address secret"],
        [
            "Часть адреса, на который ОК присылает сообщения; оставьте пустым.",
            "Part of the address OK posts messages to; leave empty.",
        ],
    ),
    API_BASE,
];

const AVITO: &[Field] = &[
    field(
        "client_id",
        Input::Text,
        false,
        true,
        ["Client ID", "Client ID"],
        [
            "avito.ru/professionals/api → ключи API (тариф с доступом к мессенджеру).",
            "avito.ru/professionals/api → API keys (a plan with messenger access).",
        ],
    ),
    field(
        "client_secret",
        Input::Text,
        true,
        true,
        ["Client secret", "Client secret"],
        ["Там же, рядом с Client ID.", "Next to the Client ID."],
    ),
    field(
        "user_id",
        Input::Number,
        false,
        true,
        ["Номер профиля", "Profile number"],
        [
            "Номер профиля в личном кабинете Авито (GET /core/v1/accounts/self).",
            "The profile number in your Avito account (GET /core/v1/accounts/self).",
        ],
    ),
    generated(
        "webhook_secret",
        ["Секрет адреса вебхука", "Webhook address secret"],
        [
            "Часть адреса, на который Авито присылает сообщения; оставьте пустым.",
            "Part of the address Avito posts messages to; leave empty.",
        ],
    ),
    API_BASE,
];

const API: &[Field] = &[
    field(
        "callback_url",
        Input::Url,
        false,
        true,
        ["Адрес для ответов", "Callback URL"],
        [
            "Сюда perepiska отправляет ответы операторов (POST JSON, подпись X-Signature).",
            "perepiska posts operators' replies here (JSON, signed in X-Signature).",
        ],
    ),
    generated(
        "secret",
        ["Ключ подписи", "Signing secret"],
        [
            "Оставьте пустым — будет создан; им подписаны запросы в обе стороны.",
            "Leave empty to have one made; requests both ways are signed with it.",
        ],
    ),
];

const fn look(
    key: &'static str,
    input: Input,
    label: [&'static str; 2],
    help: [&'static str; 2],
) -> Field {
    field(key, input, false, false, label, help)
}

const WIDGET: &[Field] = &[
    look(
        "title",
        Input::Text,
        ["Заголовок окна чата", "Chat window title"],
        [
            "По умолчанию — название проекта.",
            "The project's name by default.",
        ],
    ),
    look(
        "launcher_text",
        Input::Text,
        ["Текст на кнопке чата", "Launcher text"],
        [
            "Например, «Напишите нам»; пусто — только значок.",
            "For example \"Chat with us\"; empty shows the icon only.",
        ],
    ),
    look(
        "color",
        Input::Color,
        ["Цвет", "Colour"],
        [
            "Кнопка, шапка и сообщения посетителя.",
            "The launcher, the header and the visitor's messages.",
        ],
    ),
    look(
        "side",
        Input::Choice(&[("right", ["справа", "right"]), ("left", ["слева", "left"])]),
        ["Где на странице", "Side of the page"],
        [
            "Нижний правый или левый угол.",
            "The bottom right or left corner.",
        ],
    ),
    look(
        "language",
        Input::Choice(&[
            (
                "auto",
                ["язык браузера посетителя", "the visitor's browser language"],
            ),
            ("ru", ["русский", "Russian"]),
            ("en", ["английский", "English"]),
        ]),
        ["Язык виджета", "Widget language"],
        [
            "Все надписи виджета; для других языков браузера — русский.",
            "Every widget text; Russian for other browser languages.",
        ],
    ),
    look(
        "auto_open_after",
        Input::Number,
        [
            "Открывать сам через, секунд",
            "Open by itself after, seconds",
        ],
        [
            "Один раз за визит; 0 или пусто — не открывать.",
            "Once per visit; 0 or empty never opens it.",
        ],
    ),
    look(
        "auto_open_on_mobile",
        Input::Flag,
        [
            "Открывать сам и на телефонах",
            "Open by itself on phones too",
        ],
        [
            "На узких экранах окно закрывает страницу.",
            "On narrow screens the window covers the page.",
        ],
    ),
    look(
        "offline_form",
        Input::Flag,
        [
            "Только пока кто-то из операторов в сети; иначе — форма заявки",
            "Only while an operator is online; otherwise a request form",
        ],
        [
            "Посетитель оставляет имя, телефон или email и сообщение; ответ придёт в этот же чат.",
            "The visitor leaves a name, a phone or e-mail and a message; the answer comes to this chat.",
        ],
    ),
    look(
        "allowed_domains",
        Input::Lines,
        ["Сайты, где работает виджет", "Sites the widget runs on"],
        [
            "По одному в строке: shop.ru, *.shop.ru. Пусто — любые; с других сайтов запросы отклоняются.",
            "One per line: shop.ru, *.shop.ru. Empty allows any; requests from other sites are refused.",
        ],
    ),
    look(
        "blocked_ips",
        Input::Lines,
        [
            "Заблокированные адреса посетителей",
            "Blocked visitor addresses",
        ],
        [
            "IP или сети, по одному в строке: 203.0.113.7, 10.0.0.0/8.",
            "IPs or networks, one per line: 203.0.113.7, 10.0.0.0/8.",
        ],
    ),
];

/// The platform's keys of a kind, in the order the form shows them.
pub fn of(kind: ChannelKind) -> &'static [Field] {
    match kind {
        ChannelKind::Widget => WIDGET,
        ChannelKind::Api => API,
        ChannelKind::Telegram => TELEGRAM,
        ChannelKind::Vk => VK,
        ChannelKind::Viber => VIBER,
        ChannelKind::Whatsapp => WHATSAPP,
        ChannelKind::Ok => OK,
        ChannelKind::Avito => AVITO,
        ChannelKind::Max => MAX,
    }
}

/// Whether a kind's key is a secret (made-up ones included): never shown, never returned.
pub fn is_secret(kind: ChannelKind, key: &str) -> bool {
    of(kind).iter().any(|f| f.key == key && f.secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_required_key_is_one_the_adapter_asks_for() {
        // A config with every listed key filled must build; leaving out a required one must not.
        let http = reqwest::Client::new();
        for kind in ChannelKind::ALL {
            let mut full = serde_json::Map::new();
            for f in of(*kind) {
                let v = match (f.key, f.input) {
                    ("api_base", _) => continue,
                    ("blocked_ips", _) => serde_json::json!("10.0.0.0/8"),
                    (_, Input::Lines) => serde_json::json!("shop.ru"),
                    (_, Input::Color) => serde_json::json!("#ff5500"),
                    (_, Input::Flag) => serde_json::json!(true),
                    (_, Input::Choice(options)) => serde_json::json!(options[0].0),
                    ("token", _) => serde_json::json!("123456:AAE-a-long-enough-token_value"),
                    ("sender_name", _) => serde_json::json!("Shop"),
                    ("auto_open_after", _) => serde_json::json!(30),
                    (_, Input::Number) => serde_json::json!(12345),
                    (_, Input::Url) => serde_json::json!("https://example.com/hook"),
                    _ => serde_json::json!("a-long-enough-secret-value-123"),
                };
                full.insert(f.key.into(), v);
            }
            let full = serde_json::Value::Object(full);
            assert!(
                super::super::adapter(*kind, "n", &full, &http).is_ok(),
                "{kind}: {:?}",
                super::super::adapter(*kind, "n", &full, &http).err()
            );
            for f in of(*kind).iter().filter(|f| f.required || f.generated) {
                let mut less = full.clone();
                if let Some(m) = less.as_object_mut() {
                    m.remove(f.key);
                }
                assert!(
                    super::super::adapter(*kind, "n", &less, &http).is_err(),
                    "{kind}: {} is listed as needed but the adapter does without",
                    f.key
                );
            }
        }
    }
}
