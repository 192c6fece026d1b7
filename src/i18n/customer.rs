//! What customers read (the bot, automation, the Viber welcome), in Russian and English.
//! The customer's messenger language picks; Russian when unknown.

use super::Lang;

pub fn t(lang: Lang, key: &str) -> &'static str {
    let (ru, en) = match key {
        "welcome" => (
            "Здравствуйте! Я бот поддержки. Выберите действие или просто опишите вопрос.",
            "Hello! I am the support bot. Choose an action or just describe your question.",
        ),
        "menu" => ("Что вы хотите сделать?", "What would you like to do?"),
        "btn_new" => ("➕ Новая заявка", "➕ New request"),
        "btn_status" => ("❓ Статус заявки", "❓ Request status"),
        "btn_comment" => ("💬 Добавить комментарий", "💬 Add comment"),
        "btn_cancel" => ("🛑 Отменить заявку", "🛑 Cancel request"),
        "btn_contact_me" => (
            "📞 Я оставлял заявку, свяжитесь со мной",
            "📞 I sent a request, please contact me",
        ),
        "btn_done_question" => (
            "❔ Вопрос по выполненной заявке",
            "❔ Question about a completed request",
        ),
        "btn_rate" => ("⭐ Оценить", "⭐ Rate"),
        "btn_reopen" => ("↩️ Вернуть в работу", "↩️ Return to work"),
        "btn_view" => ("👁 Посмотреть", "👁 View"),
        "btn_yes" => ("Да", "Yes"),
        "btn_no" => ("Нет", "No"),
        "btn_skip" => ("Пропустить", "Skip"),
        "btn_share_phone" => ("📱 Отправить номер телефона", "📱 Share my phone number"),
        "btn_new_from_message" => ("➕ Создать новую заявку", "➕ Create a new request"),
        "ask_new" => (
            "Опишите ваш вопрос одним сообщением, можно приложить файлы.",
            "Describe your question in one message; you may attach files.",
        ),
        "registered" => (
            "✔️ Ваша заявка зарегистрирована под номером #{n}",
            "✔️ Your request is registered as #{n}",
        ),
        "choose_for_comment" => (
            "К какой заявке добавить комментарий?",
            "Which request is the comment for?",
        ),
        "choose_for_cancel" => (
            "Какую заявку отменить?",
            "Which request should be cancelled?",
        ),
        "choose_target" => (
            "У вас есть заявки в работе. Создать новую заявку или добавить сообщение к существующей?",
            "You have requests in progress. Create a new request or add this message to an existing one?",
        ),
        "ask_comment" => (
            "Напишите комментарий к заявке #{n}, можно приложить файлы.",
            "Write your comment for request #{n}; you may attach files.",
        ),
        "comment_added" => (
            "💬 Комментарий добавлен к заявке #{n}",
            "💬 Comment added to request #{n}",
        ),
        "cancelled" => ("🛑 Заявка #{n} отменена", "🛑 Request #{n} is cancelled"),
        "no_more_active" => (
            "У вас больше нет заявок в работе.",
            "You have no more requests in work.",
        ),
        "no_active" => (
            "У вас нет заявок в работе.",
            "You have no requests in work.",
        ),
        "not_assigned" => ("не назначен", "not assigned"),
        "not_set" => ("не установлен", "not set"),
        "assignee" => ("Исполнитель", "Assignee"),
        "status" => ("Статус", "Status"),
        "due" => ("Срок", "Due date"),
        "priority" => ("Приоритет", "Priority"),
        "emails" => ("Email для связи", "Contact emails"),
        "created" => ("Создана", "Created"),
        "resolved" => (
            "✅ Заявка #{n} «{s}» решена. Оцените, пожалуйста, работу или верните заявку, если вопрос не решён.",
            "✅ Request #{n} \"{s}\" is resolved. Please rate the work, or return the request if the problem remains.",
        ),
        "rate_by_digit" => (
            "Ответьте цифрой от 1 до 5.",
            "Reply with a digit from 1 to 5.",
        ),
        "rated_chat_ask_comment" => (
            "Спасибо за оценку! Если хотите, напишите пару слов о нашей работе (в течение 30 минут).",
            "Thank you for the rating! If you like, write a few words about our work (within 30 minutes).",
        ),
        "rated_chat_thanks" => ("Спасибо за отзыв!", "Thank you for the feedback!"),
        "our_specialist" => ("Наш специалист", "Our specialist"),
        "auto_close_actor" => ("автозакрытие", "auto-close"),
        "ask_stars" => (
            "Оцените работу по заявке #{n} от 1 до 5:",
            "Rate the work on request #{n} from 1 to 5:",
        ),
        "ask_rating_comment" => (
            "Спасибо! Добавьте комментарий к оценке или нажмите «Пропустить».",
            "Thank you! Add a comment to your rating or press Skip.",
        ),
        "rated" => (
            "Спасибо за оценку! Заявка #{n} закрыта.",
            "Thank you for your rating! Request #{n} is closed.",
        ),
        "confirm_reopen" => (
            "Вернуть заявку #{n} в работу?",
            "Return request #{n} to work?",
        ),
        "ask_reason" => (
            "Опишите, пожалуйста, что осталось не так.",
            "Please describe what is still wrong.",
        ),
        "reopened" => (
            "↩️ Заявка #{n} возвращена в работу.",
            "↩️ Request #{n} is back in work.",
        ),
        "status_changed" => (
            "Заявка #{n}: статус «{s}».",
            "Request #{n}: status \"{s}\".",
        ),
        "assigned" => (
            "Заявка #{n}: исполнитель {s}.",
            "Request #{n}: assignee {s}.",
        ),
        "due_changed" => ("Заявка #{n}: срок {s}.", "Request #{n}: due date {s}."),
        "closed" => ("Заявка #{n} закрыта.", "Request #{n} is closed."),
        "ask_phone" => (
            "Чтобы продолжить, поделитесь номером телефона кнопкой ниже.",
            "To continue, share your phone number with the button below.",
        ),
        "unknown_phone" => (
            "Мы не нашли ваш номер среди клиентов. Позвоните нам: {s}",
            "We could not find your number among our customers. Please call us: {s}",
        ),
        "phone_linked" => (
            "Спасибо, {s}! Номер подтверждён.",
            "Thank you, {s}! Your number is confirmed.",
        ),
        "not_your_phone" => (
            "Пожалуйста, отправьте свой номер кнопкой ниже.",
            "Please send your own number with the button below.",
        ),
        "contact_me_sent" => (
            "Мы передали просьбу менеджеру, с вами свяжутся.",
            "We passed your request to the manager; they will contact you.",
        ),
        "choose_done" => (
            "По какой выполненной заявке вопрос?",
            "Which completed request is your question about?",
        ),
        "unknown_choice" => (
            "Не понял выбор. Вот меню:",
            "I did not understand that choice. Here is the menu:",
        ),
        "files_from" => ("Файлы от {s}", "Files from {s}"),
        "pick_number" => (
            "Ответьте номером варианта.",
            "Reply with the number of your choice.",
        ),
        "opened_for_you" => (
            "📝 Для вас создана заявка #{n} «{s}».",
            "📝 Request #{n} \"{s}\" was opened for you.",
        ),
        "choose_team" => (
            "Выберите команду, которой будут уходить заявки из этой группы:",
            "Choose the team that gets requests from this group:",
        ),
        "no_teams" => (
            "В проекте пока нет команд.",
            "The project has no teams yet.",
        ),
        "team_bound" => (
            "Заявки из этой группы получает команда «{s}».",
            "Requests from this group go to the team \"{s}\".",
        ),
        "group_register" => (
            "{s}, чтобы оставлять заявки, сначала напишите мне в личные сообщения и зарегистрируйтесь:",
            "{s}, to make requests, first write to me in a private chat and register:",
        ),
        "group_registered" => (
            "✔️ Заявка #{n} зарегистрирована ({s})",
            "✔️ Request #{n} is registered ({s})",
        ),
        _ => ("", ""),
    };
    match lang {
        Lang::Ru => ru,
        Lang::En => en,
    }
}

/// How a shared contact card reads in the thread (the operators' language, Russian first).
pub fn contact_card(name: &str, phone: &str) -> String {
    format!("📞 Контакт: {name} {phone}")
}

/// A text with {n} (a request number) and {s} filled in.
pub fn fill(lang: Lang, key: &str, n: i64, s: &str) -> String {
    t(lang, key)
        .replace("{n}", &n.to_string())
        .replace("{s}", s)
}
