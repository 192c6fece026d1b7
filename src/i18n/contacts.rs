//! Strings of the contacts pages (list, card, import), Russian and English.

pub(super) fn text(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "contacts" => ("Контакты", "Contacts"),
        "inbox" => ("Обращения", "Inbox"),
        "contact_new" => ("Новый контакт", "New contact"),
        "open_contact" => ("Карточка контакта", "Contact card"),
        "contacts_import" => ("Импорт из CSV", "Import CSV"),
        "contacts_export" => ("Выгрузить в CSV", "Export CSV"),
        "contacts_search" => (
            "Имя, телефон, e-mail или организация",
            "Name, phone, e-mail or organisation",
        ),
        "reset" => ("Сбросить", "Reset"),
        "contacts_capped" => (
            "Найдено много контактов — показаны самые новые. Уточните запрос.",
            "Many contacts match: the newest are shown. Narrow the search.",
        ),
        "contacts_empty" => ("Контактов не найдено", "No contacts found"),
        "contact_since" => ("Добавлен", "Added"),
        "contact_saved" => ("Контакт сохранён", "The contact is saved"),
        "contact_merged" => (
            "Контакты объединены: обращения и каналы теперь здесь",
            "Contacts merged: their conversations and channels are here now",
        ),
        "contact_writes_from" => ("Пишет из каналов", "Writes from"),
        "contact_no_identities" => (
            "Ещё не писал(а). Клиент с телефоном сможет войти в Telegram-бот, поделившись этим номером.",
            "Has not written yet. With a phone, they can sign in to the Telegram bot by sharing this number.",
        ),
        "blocked_us" => ("заблокировал(а) нас", "blocked us"),
        "contact_conversations" => ("Обращения во всех каналах", "Conversations on all channels"),
        "contact_no_conversations" => ("Обращений пока нет", "No conversations yet"),
        "last_message" => ("Последнее сообщение", "Last message"),
        "contact_merge" => ("Объединить с дублем", "Merge a duplicate"),
        "contact_merge_hint" => (
            "Один человек написал из двух каналов? Найдите второй контакт и объедините: его обращения, каналы и метки перейдут сюда, пустые поля заполнятся, а второй контакт исчезнет.",
            "One person wrote from two channels? Find the other contact and merge it: its conversations, channels and tags move here, empty fields are filled in, and the other contact is gone.",
        ),
        "contact_merge_find" => ("Найти дубль", "Find the duplicate"),
        "contact_merge_into" => ("Объединить с этим контактом", "Merge into this contact"),
        "import_created" => ("Добавлено", "Added"),
        "import_updated" => ("Обновлено", "Updated"),
        "import_refused" => ("Отклонено", "Refused"),
        "import_line" => ("Строка", "Line"),
        "import_reason" => ("Причина", "Reason"),
        "import_file" => ("Файл CSV", "CSV file"),
        "import_hint" => (
            "Первая строка — названия столбцов (по-русски или по-английски), разделитель — запятая или точка с запятой, кодировка UTF-8 или Windows-1251. Контакт с тем же e-mail или телефоном обновляется, а не дублируется. Неверные строки не загружаются, и отчёт скажет почему. Столбцы:",
            "The first line names the columns (in English or Russian), separated by commas or semicolons, UTF-8 or Windows-1251. A contact with the same e-mail or phone is updated, not duplicated. Bad rows are not loaded, and the report says why. Columns:",
        ),
        _ => return super::reports::text(key),
    })
}
