//! Console strings (the operator and admin pages), Russian and English.

use super::Lang;

/// Console strings. Templates call `tr.t("key")`; an unknown key shows itself, which a test
/// of the rendered page would catch.
#[derive(Clone, Copy, Debug)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn t(&self, key: &str) -> &'static str {
        let (ru, en) = match key {
            "login" => ("Вход", "Sign in"),
            "email" => ("Email", "Email"),
            "password" => ("Пароль", "Password"),
            "sign_in" => ("Войти", "Sign in"),
            "logout" => ("Выйти", "Sign out"),
            "wrong_login" => ("Неверный email или пароль", "Wrong email or password"),
            "mine" => ("Мои", "Mine"),
            "unassigned" => ("Без исполнителя", "Unassigned"),
            "all" => ("Все", "All"),
            "closed" => ("Закрытые", "Closed"),
            "search" => (
                "Поиск: текст, клиент, #номер",
                "Search: text, contact, #number",
            ),
            "any_channel" => ("Все каналы", "All channels"),
            "any_status" => ("Любой статус", "Any status"),
            "filter" => ("Найти", "Filter"),
            "empty_list" => ("Здесь пока пусто", "Nothing here yet"),
            "choose" => (
                "Выберите обращение слева",
                "Pick a conversation on the left",
            ),
            "reply" => ("Ответить", "Send"),
            "reply_placeholder" => ("Ответ клиенту…", "Reply to the customer…"),
            "note" => ("Внутренняя заметка", "Internal note"),
            "attach" => ("Файл", "File"),
            "file_loading" => (
                "файл загружается с платформы",
                "the file is being fetched from the platform",
            ),
            "file_failed" => ("файл не получен", "the file could not be fetched"),
            "status" => ("Статус", "Status"),
            "assignee" => ("Исполнитель", "Assignee"),
            "nobody" => ("— не назначен —", "— unassigned —"),
            "priority" => ("Приоритет", "Priority"),
            "team" => ("Команда", "Team"),
            "notifications" => ("Уведомления", "Notifications"),
            "new_request" => ("Новая заявка для клиента", "New request for this customer"),
            "subject" => ("Тема", "Subject"),
            "first_message" => ("Первое сообщение клиенту", "First message to the customer"),
            "create" => ("Создать", "Create"),
            "wa_template" => (
                "Шаблон WhatsApp (после 24 часов)",
                "WhatsApp template (after 24 hours)",
            ),
            "template_name" => ("Название шаблона", "Template name"),
            "template_language" => ("Язык", "Language"),
            "template_parameters" => ("Параметры, по одному в строке", "Parameters, one per line"),
            "no_notifications" => ("Уведомлений нет", "No notifications"),
            "no_team" => ("— без команды —", "— no team —"),
            "transfer" => ("Передать", "Transfer"),
            "distribution" => (
                "Распределение новых обращений",
                "Who gets new conversations",
            ),
            "distribution_hint" => (
                "Команда канала (Настройки → Каналы) ограничивает, среди кого распределять. Никого нет в сети — обращение ждёт в очереди и уходит первому, кто появится.",
                "The channel's team (Settings → Channels) limits whom they go to. Nobody online: the conversation waits in the queue and goes to the first one who comes online.",
            ),
            "distribution_mode" => ("Как", "How"),
            "queue" => (
                "Общая очередь: берут сами",
                "A shared queue: operators take them",
            ),
            "round_robin" => (
                "По очереди (round-robin) среди тех, кто в сети",
                "In turn (round-robin) among those online",
            ),
            "least_busy" => (
                "Наименее загруженному из тех, кто в сети",
                "To the least busy of those online",
            ),
            "assign_to" => ("Всё — одному сотруднику", "Everything to one member"),
            "assign_to_nobody" => ("— нет —", "— no —"),
            "assign_limit" => (
                "Не больше открытых обращений на оператора",
                "At most this many open conversations per operator",
            ),
            "away_after" => (
                "Консоль закрыта дольше — не в сети",
                "Console closed longer than this: offline",
            ),
            "offline_returns" => (
                "Оператор ушёл из сети — его открытые обращения возвращаются в очередь",
                "An operator going offline gives their open conversations back to the queue",
            ),
            "transfer_to" => ("Кому", "To"),
            "transfer_members" => ("Сотрудники", "Members"),
            "transfer_teams" => ("Очередь команды", "A team's queue"),
            "transfer_note" => ("Комментарий для получателя", "A note for the receiver"),
            "transfer_send" => ("Передать обращение", "Transfer the conversation"),
            "due" => ("Срок", "Due date"),
            "save" => ("Сохранить", "Save"),
            "close" => ("Закрыть обращение", "Close conversation"),
            "contact" => ("Клиент", "Contact"),
            "phone" => ("Телефон", "Phone"),
            "organization" => ("Организация", "Organization"),
            "manager" => ("Менеджер", "Manager"),
            "other_conversations" => ("Другие обращения", "Other conversations"),
            "online" => ("На линии", "Online"),
            "offline" => ("Не на линии", "Offline"),
            "sound" => ("Звук", "Sound"),
            "project" => ("Проект", "Project"),
            "switch" => ("Перейти", "Switch"),
            "not_delivered" => ("не доставлено", "not delivered"),
            "pending" => ("отправляется", "sending"),
            "sent" => ("отправлено", "sent"),
            "delivered" => ("доставлено", "delivered"),
            "read" => ("прочитано", "read"),
            "retrying" => ("повтор", "retrying"),
            "channel" => ("Канал", "Channel"),
            "created" => ("Создано", "Created"),
            "low" => ("низкий", "low"),
            "normal" => ("обычный", "normal"),
            "high" => ("высокий", "high"),
            "urgent" => ("срочный", "urgent"),
            "error" => ("Ошибка", "Error"),
            "back" => ("Назад", "Back"),
            "edit" => ("Изменить", "Edit"),
            "delete" => ("Удалить", "Delete"),
            "canned" => ("Шаблоны ответов", "Canned replies"),
            "canned_hint" => (
                "В поле ответа наберите / и начало названия или сокращения: стрелки выбирают, Enter вставляет, текст можно поправить перед отправкой.",
                "Type / and the start of a title or shortcut in the reply box: arrows choose, Enter inserts, and the text can be edited before sending.",
            ),
            "canned_project_group" => ("Шаблоны проекта", "The project's replies"),
            "canned_mine_group" => ("Мои шаблоны", "My replies"),
            "canned_empty" => ("Шаблонов пока нет", "No replies yet"),
            "canned_shortcut" => ("Сокращение", "Shortcut"),
            "canned_title" => ("Название", "Title"),
            "canned_text" => ("Текст", "Text"),
            "canned_used" => ("Использован", "Used"),
            "canned_new" => ("Новый шаблон", "New reply"),
            "canned_scope" => ("Для кого", "For"),
            "canned_project" => ("для всего проекта", "the whole project"),
            "canned_mine" => ("только для меня", "only me"),
            "canned_variables" => (
                "Переменные: {name} — имя клиента, {number} — номер обращения, {operator} — ваше имя, {project} — название проекта.",
                "Variables: {name} the customer's name, {number} the conversation's number, {operator} your name, {project} the project's name.",
            ),
            "canned_remove_file" => ("Убрать файл", "Remove the file"),
            "canned_saved" => ("Шаблон сохранён", "The reply is saved"),
            "canned_deleted" => ("Шаблон удалён", "The reply is deleted"),
            "canned_nothing" => ("Нет подходящих шаблонов", "No reply matches"),
            "canned_picker" => ("Шаблоны ответов (/)", "Canned replies (/)"),
            "shortcuts" => ("Горячие клавиши", "Keyboard shortcuts"),
            "tag" => ("Метка", "Tag"),
            "tags" => ("Метки", "Tags"),
            "any_tag" => ("Любая метка", "Any tag"),
            "no_tags" => ("Меток нет", "No tags"),
            "tag_add" => ("Добавить метку", "Add a tag"),
            "tag_remove" => ("Снять метку", "Remove the tag"),
            "tag_name" => ("Название", "Name"),
            "tag_colour" => ("Цвет", "Colour"),
            "tag_used" => ("Обращений", "Conversations"),
            "tags_hint" => (
                "Метки ставят на обращения в карточке справа и через API; список обращений фильтруется по метке.",
                "Tags are put on conversations in the panel on the right and through the API; the list filters by tag.",
            ),
            "tags_empty" => ("Меток пока нет", "No tags yet"),
            "tag_new" => ("Новая метка", "New tag"),
            "tag_saved" => ("Метка сохранена", "The tag is saved"),
            "tag_deleted" => ("Метка удалена", "The tag is deleted"),
            "tag_delete_hint" => (
                "Метка снимается со всех обращений.",
                "The tag is taken off every conversation.",
            ),
            "gray" => ("серый", "gray"),
            "red" => ("красный", "red"),
            "orange" => ("оранжевый", "orange"),
            "yellow" => ("жёлтый", "yellow"),
            "green" => ("зелёный", "green"),
            "teal" => ("бирюзовый", "teal"),
            "blue" => ("синий", "blue"),
            "purple" => ("фиолетовый", "purple"),
            "pink" => ("розовый", "pink"),
            "sc_next_prev" => (
                "следующее / предыдущее обращение",
                "next / previous conversation",
            ),
            "sc_reply" => ("к полю ответа", "go to the reply box"),
            "sc_send" => ("отправить ответ", "send the reply"),
            "sc_in_reply" => ("в поле ответа", "in the reply box"),
            "sc_assign_me" => ("назначить на меня", "assign to me"),
            "sc_resolve" => ("отметить решённым", "mark resolved"),
            "sc_search" => ("к поиску", "go to search"),
            "sc_escape" => (
                "закрыть список или подсказку, выйти из поля",
                "close a list or this help, leave the field",
            ),
            "sc_help" => ("эта подсказка", "this help"),
            "sc_close" => ("Закрыть", "Close"),
            "settings" => ("Настройки", "Settings"),
            "automatic" => ("🤖 Автоматически", "🤖 Automatic"),
            "bot_author" => ("🤖 Бот", "🤖 Bot"),
            "widget_messages" => ("Сообщения виджета", "Widget messages"),
            "greeting" => ("Приветствие", "Greeting"),
            "unread_message" => (
                "Если оператор не прочитал за",
                "If no operator has read it within",
            ),
            "unanswered_message" => (
                "Если прочитал, но не ответил за",
                "If read but unanswered within",
            ),
            "contact_request" => ("Запрос контактов", "Contact request"),
            "hidden" => ("не спрашивать", "do not ask"),
            "optional" => ("по желанию", "optional"),
            "required" => ("обязательно", "required"),
            "with_greeting" => ("с приветствием", "with the greeting"),
            "with_unread" => ("с сообщением «не прочитано»", "with the unread message"),
            "with_unanswered" => ("с сообщением «нет ответа»", "with the unanswered message"),
            "member_hours" => ("Рабочие часы сотрудников", "Team members' working hours"),
            "member_hours_hint" => (
                "Строки вида «mon 09:00-18:00» (mon…sun). В эти часы сотрудник автоматически в сети, вне их — не в сети; ручное переключение действует до следующей границы.",
                "Lines like \"mon 09:00-18:00\" (mon…sun). Within them the member goes online automatically and offline outside; a manual toggle holds until the next boundary.",
            ),
            "saved" => ("Сохранено.", "Saved."),
            "work_schedule" => ("Рабочее время", "Working hours"),
            "schedule_from_file" => (
                "Сейчас действует расписание из channels.toml; после сохранения здесь файл его больше не меняет.",
                "The schedule from channels.toml is in effect; once saved here, the file no longer changes it.",
            ),
            "timezone" => ("Часовой пояс", "Time zone"),
            "no_schedule" => (
                "Рабочее время не задано: пока считается, что вы на связи круглосуточно.",
                "No working hours yet: until set, you count as available around the clock.",
            ),
            "grid_hint" => (
                "Отметьте рабочие часы. Вне их действуют ответы для нерабочего времени.",
                "Tick the working hours. Outside them the off-hours handling applies.",
            ),
            "holidays" => ("Праздники (дата на строке)", "Holidays (a date per line)"),
            "exceptions" => ("Особые дни", "Special days"),
            "exceptions_hint" => (
                "Строка: дата и часы, например «2026-12-31 09:00-15:00»; «2027-01-02 -» — выходной.",
                "A line: a date and hours, e.g. \"2026-12-31 09:00-15:00\"; \"2027-01-02 -\" is a day off.",
            ),
            "staff_alerts" => (
                "Оповещения о неотвеченных в Telegram",
                "Unanswered alerts in Telegram",
            ),
            "telegram_channel" => ("Через бота", "Through the bot"),
            "staff_chat" => ("Чат сотрудников (id)", "Staff chat (id)"),
            "rules_from_web" => (
                "Настройки канала сохранены здесь и действуют вместо ключей из channels.toml.",
                "Saved here; these settings replace the channel's keys in channels.toml.",
            ),
            "auto_replies" => (
                "Автоответы («задержка | текст», {NAME} — имя оператора)",
                "Auto-replies (\"delay | text\", {NAME} is the operator's name)",
            ),
            "auto_reply_after_operator" => (
                "Отвечать автоматически и после ответа оператора",
                "Keep auto-replying after an operator has answered",
            ),
            "off_hours" => ("В нерабочее время", "Outside working hours"),
            "off_hours_same" => ("как в рабочее", "same as in working hours"),
            "off_hours_auto_reply" => (
                "автоответы для нерабочего времени",
                "off-hours auto-replies",
            ),
            "off_hours_bot" => ("отвечает бот", "the bot answers"),
            "off_hours_replies" => ("Автоответы в нерабочее время", "Off-hours auto-replies"),
            "auto_close_after" => (
                "Закрывать после бездействия (90m, 24h, 3d)",
                "Close after inactivity (90m, 24h, 3d)",
            ),
            "closing_message" => (
                "Сообщение при закрытии (до 250 символов)",
                "Closing message (up to 250 characters)",
            ),
            "rating" => ("Оценка качества", "Quality rating"),
            "rating_default" => ("по умолчанию (в режиме заявок)", "default (helpdesk mode)"),
            "rating_on" => ("спрашивать", "ask"),
            "rating_off" => ("не спрашивать", "do not ask"),
            "unanswered_alert_after" => (
                "Оповещать, если нет ответа (15m)",
                "Alert when unanswered for (15m)",
            ),
            "mon" => ("Пн", "Mon"),
            "tue" => ("Вт", "Tue"),
            "wed" => ("Ср", "Wed"),
            "thu" => ("Чт", "Thu"),
            "fri" => ("Пт", "Fri"),
            "sat" => ("Сб", "Sat"),
            "sun" => ("Вс", "Sun"),
            "name" => ("Имя", "Name"),
            "vip" => ("VIP-клиент", "VIP customer"),
            "vip_org" => ("VIP-организация", "VIP organization"),
            "change_contact" => ("Изменить данные клиента", "Edit contact"),
            "channels" => ("Каналы", "Channels"),
            "automation" => ("Автоматизация", "Automation"),
            "add_channel" => ("Подключить канал", "Connect a channel"),
            "channel_kind" => ("Тип", "Kind"),
            "channel_name" => ("Название канала", "Channel name"),
            "channel_name_hint" => (
                "Так канал подписан в консоли у операторов.",
                "How the channel is labelled in the operators' console.",
            ),
            "account" => ("Аккаунт", "Account"),
            "receiving" => ("Приём", "Receiving"),
            "last_received" => ("Последнее сообщение", "Last message received"),
            "last_delivery_error" => ("Последняя ошибка доставки", "Last delivery error"),
            "never" => ("ещё не было", "none yet"),
            "paused" => ("Приостановлен", "Paused"),
            "not_running" => ("Не работает", "Not running"),
            "not_running_hint" => (
                "настройки канала не запускаются; подробности в журнале сервера",
                "its settings do not start; see the server log",
            ),
            "long_polling" => (
                "Long polling (публичный адрес не нужен)",
                "Long polling (no public address needed)",
            ),
            "on_the_site" => ("Виджет на сайте", "Widget on the site"),
            "webhook" => ("Вебхук", "Webhook"),
            "webhook_no_public_url" => (
                "Вебхук: задайте PEREPISKA_PUBLIC_URL, чтобы платформа знала адрес",
                "Webhook: set PEREPISKA_PUBLIC_URL so the platform knows the address",
            ),
            "registered" => ("зарегистрирован", "registered"),
            "registration_failed" => ("Вебхук не зарегистрирован", "Webhook not registered"),
            "declared_in_file" => (
                "Объявлен в channels.toml — меняется там",
                "Declared in channels.toml — change it there",
            ),
            "channel_connected" => ("Канал подключён.", "Channel connected."),
            "channel_disconnected" => ("Канал отключён:", "Channel disconnected:"),
            "platform_not_told" => (
                "Платформа не подтвердила отключение вебхука",
                "The platform did not confirm removing the webhook",
            ),
            "check" => ("Проверить", "Check"),
            "profile" => ("Профиль", "Profile"),
            "api_tokens" => ("Токены API", "API tokens"),
            "api_tokens_hint" => (
                "Для своих систем: токен действует от вашего имени в этом проекте, с вашими правами.",
                "For your own systems: a token acts as you in this project, with your access.",
            ),
            "token_name" => ("Название", "Name"),
            "token_name_placeholder" => ("Например, «CRM»", "For example \"CRM\""),
            "last_used" => ("Последнее использование", "Last used"),
            "revoke" => ("Отозвать", "Revoke"),
            "create_token" => ("Создать токен", "Create a token"),
            "your_name" => ("Имя и фамилия", "Name and surname"),
            "your_name_hint" => (
                "Так вас видят коллеги и клиенты — там, где канал показывает имя оператора.",
                "How colleagues see you, and customers where the channel shows the operator's name.",
            ),
            "change_password" => ("Сменить пароль", "Change password"),
            "current_password" => ("Текущий пароль", "Current password"),
            "new_password" => ("Новый пароль", "New password"),
            "repeat_password" => ("Новый пароль ещё раз", "New password again"),
            "password_hint" => (
                "Не короче 8 символов. Все другие ваши сеансы будут завершены.",
                "At least 8 characters. Every other session of yours is signed out.",
            ),
            "channel_automation" => (
                "Автоответы, автозакрытие и оценка",
                "Auto-replies, auto-close and rating",
            ),
            "default_team" => ("Команда по умолчанию", "Default team"),
            "default_team_hint" => (
                "В какой команде оказываются новые обращения из этого канала.",
                "The team new conversations from this channel start in.",
            ),
            "install_snippet" => ("Код для сайта", "Install snippet"),
            "install_snippet_hint" => (
                "Вставьте перед </body> на каждой странице, где нужен чат.",
                "Paste it before </body> on every page that needs the chat.",
            ),
            "copy" => ("Скопировать", "Copy"),
            "preview" => ("Как это выглядит", "Preview"),
            "connect" => ("Подключить", "Connect"),
            "pause" => ("Приостановить", "Pause"),
            "resume" => ("Возобновить", "Resume"),
            "disconnect" => ("Отключить", "Disconnect"),
            "disconnect_confirm" => (
                "Канал перестанет принимать и отправлять сообщения, платформа перестанет присылать их сюда. Переписка и обращения сохранятся. Вернуть канал можно, подключив его заново.",
                "The channel stops receiving and sending, and the platform stops posting here. Conversations and their history stay. To bring it back, connect it again.",
            ),
            "disconnect_yes" => ("Да, отключить", "Yes, disconnect"),
            "cancel" => ("Отмена", "Cancel"),
            "secret_stored" => (
                "сохранён; введите новый, чтобы заменить",
                "stored; type a new one to replace it",
            ),
            "advanced" => ("Дополнительно", "Advanced"),
            "routing_helpdesk" => (
                "Бот заявок: клиент создаёт заявки, видит статус, комментирует, оценивает",
                "Helpdesk bot: customers create requests, see their status, comment and rate",
            ),
            "registration_phone" => (
                "Только известные клиенты: по номеру телефона",
                "Known customers only: by phone number",
            ),
            "support_phone" => (
                "Телефон поддержки для незнакомых номеров",
                "Support phone for unknown numbers",
            ),
            "show_operator_name" => (
                "Показывать клиенту имя оператора",
                "Show the operator's name to the customer",
            ),
            "generated_once" => (
                "Скопируйте сейчас — больше не показывается:",
                "Copy these now — they are not shown again:",
            ),
            "paste_into_platform" => (
                "Вставьте в настройках платформы:",
                "Paste into the platform's settings:",
            ),
            "check_hint" => (
                "«Проверить» спросит платформу, чей это ключ; ничего не сохраняется.",
                "\"Check\" asks the platform whose credentials these are; nothing is saved.",
            ),
            "paused_hint" => (
                "Пока канал приостановлен, сообщения ждут на платформе, а ответы — в очереди.",
                "While paused, messages wait on the platform and replies wait in the queue.",
            ),
            _ => match super::team::text(key) {
                Some(pair) => pair,
                None => return "??",
            },
        };
        match self.lang {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }

    /// How a kind of channel is named to admins.
    pub fn kind_name(&self, k: crate::domain::ChannelKind) -> &'static str {
        use crate::domain::ChannelKind as K;
        let (ru, en) = match k {
            K::Telegram => ("Telegram", "Telegram"),
            K::Vk => ("ВКонтакте", "VK"),
            K::Viber => ("Viber", "Viber"),
            K::Whatsapp => ("WhatsApp", "WhatsApp"),
            K::Ok => ("Одноклассники", "OK"),
            K::Avito => ("Авито", "Avito"),
            K::Max => ("MAX", "MAX"),
            K::Widget => ("Виджет на сайте", "Site widget"),
            K::Api => ("Свой канал (API)", "Custom channel (API)"),
        };
        self.lang.pick_of([ru, en])
    }

    /// What credentials the platform refused read as, by kind: «Бот не найден».
    pub fn account_not_found(&self, k: crate::domain::ChannelKind) -> &'static str {
        use crate::domain::ChannelKind as K;
        let (ru, en) = match k {
            K::Telegram | K::Viber | K::Max => ("Бот не найден", "Bot not found"),
            K::Vk => ("Сообщество не найдено", "Community not found"),
            K::Whatsapp => ("Номер не найден", "Phone number not found"),
            K::Ok => ("Группа не найдена", "Group not found"),
            K::Avito => ("Профиль не найден", "Profile not found"),
            K::Widget | K::Api => ("Не удалось проверить", "Could not be checked"),
        };
        self.lang.pick_of([ru, en])
    }

    /// How the account found for credentials is introduced: «Бот: …».
    pub fn account_found(&self, k: crate::domain::ChannelKind) -> &'static str {
        use crate::domain::ChannelKind as K;
        let (ru, en) = match k {
            K::Telegram | K::Viber | K::Max => ("Бот", "Bot"),
            K::Vk => ("Сообщество", "Community"),
            K::Whatsapp => ("Номер", "Number"),
            K::Ok => ("Группа", "Group"),
            K::Avito => ("Профиль", "Profile"),
            K::Widget | K::Api => ("Канал", "Channel"),
        };
        self.lang.pick_of([ru, en])
    }

    pub fn status(&self, s: crate::domain::Status) -> &'static str {
        super::status_label(self.lang, s)
    }

    pub fn priority(&self, p: crate::domain::Priority) -> &'static str {
        super::priority_label(self.lang, p)
    }
}
