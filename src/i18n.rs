//! Console language: Russian first, English on request (cookie `lang` or Accept-Language).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// The cookie wins; otherwise the first of ru/en in Accept-Language; Russian by default.
    pub fn pick(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        match cookie {
            Some("en") => return Lang::En,
            Some("ru") => return Lang::Ru,
            _ => {}
        }
        let al = accept_language.unwrap_or("").to_ascii_lowercase();
        let ru = al.find("ru");
        let en = al.find("en");
        match (ru, en) {
            (Some(r), Some(e)) if e < r => Lang::En,
            (None, Some(_)) => Lang::En,
            _ => Lang::Ru,
        }
    }
}

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
            "name" => ("Имя", "Name"),
            "vip" => ("VIP-клиент", "VIP customer"),
            "vip_org" => ("VIP-организация", "VIP organization"),
            "change_contact" => ("Изменить данные клиента", "Edit contact"),
            _ => return "??",
        };
        match self.lang {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }

    pub fn status(&self, s: &str) -> String {
        match (crate::domain::Status::parse(s), self.lang) {
            (Ok(st), Lang::Ru) => st.label_ru().to_string(),
            _ => s.to_string(),
        }
    }
}
