//! Strings of Settings → Integrations.

/// (Russian, English) for a key of the integrations pages; None when the key is not theirs.
pub(super) fn text(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "integrations" => ("Интеграции", "Integrations"),
        "integrations_hint" => (
            "Вебхуки отправляют события обращений в вашу CRM или другую систему: подписанный JSON на ваш адрес, с повторами, пока адрес не ответит 2xx.",
            "Webhooks send conversation events to your CRM or another system: signed JSON to your address, retried until it answers 2xx.",
        ),
        "integrations_empty" => ("Интеграций пока нет", "No integrations yet"),
        "integration_new" => ("Новый вебхук", "New webhook"),
        "integration_id" => ("Идентификатор", "Id"),
        "integration_id_hint" => (
            "Латиница, цифры, - и _; по нему интеграция видна в API.",
            "Latin letters, digits, - and _; the API names it by this.",
        ),
        "integration_name" => ("Название", "Name"),
        "integration_url" => ("Адрес (https://)", "Address (https://)"),
        "integration_secret" => ("Секрет подписи", "Signing secret"),
        "integration_secret_hint" => (
            "Не короче 16 символов. Пусто — будет создан и показан один раз. Подпись: X-Perepiska-Signature = sha256=HMAC-SHA256(секрет, «<X-Perepiska-Timestamp>.<тело>»).",
            "At least 16 characters. Empty: one is made and shown once. Signature: X-Perepiska-Signature = sha256=HMAC-SHA256(secret, \"<X-Perepiska-Timestamp>.<body>\").",
        ),
        "integration_secret_kept" => ("Пусто — остаётся сохранённый", "Empty keeps the stored one"),
        "integration_secret_made" => (
            "Секрет подписи (показан один раз, сохраните его у получателя):",
            "The signing secret (shown once; keep it at the receiver):",
        ),
        "integration_events" => ("События", "Events"),
        "integration_events_hint" => (
            "Ничего не отмечено — все события.",
            "Nothing ticked: every event.",
        ),
        "integration_channels" => ("Каналы", "Channels"),
        "integration_channels_hint" => (
            "Ничего не отмечено — все каналы.",
            "Nothing ticked: every channel.",
        ),
        "integration_enabled" => ("Включена", "On"),
        "integration_saved" => ("Интеграция сохранена", "The integration is saved"),
        "integration_deleted" => ("Интеграция удалена", "The integration is removed"),
        "integration_paused" => ("Приостановлена", "Paused"),
        "integration_active" => ("Работает", "Working"),
        "integration_off" => ("Выключена", "Off"),
        "integration_pause" => ("Приостановить", "Pause"),
        "integration_resume" => ("Возобновить", "Resume"),
        "integration_from_file" => (
            "Объявлена в channels.toml: меняется там.",
            "Declared in channels.toml: changed there.",
        ),
        "integration_log" => ("Журнал доставки", "Delivery log"),
        "integration_log_empty" => ("Событий ещё не было", "No events yet"),
        "delivery_time" => ("Время", "Time"),
        "delivery_event" => ("Событие", "Event"),
        "delivery_status" => ("Статус", "Status"),
        "delivery_attempts" => ("Попыток", "Attempts"),
        "delivery_answer" => ("Ответ", "Answer"),
        "delivery_next" => ("Следующая попытка", "Next try"),
        "delivery_retry" => ("Повторить сейчас", "Retry now"),
        "delivery_pending" => ("Ждёт", "Waiting"),
        "delivery_delivered" => ("Доставлено", "Delivered"),
        "delivery_retried" => ("Отправим ещё раз сейчас", "Sending it again now"),
        "event_conversation_created" => ("Новое обращение", "Conversation created"),
        "event_conversation_status_changed" => ("Смена статуса", "Status changed"),
        "event_conversation_assigned" => ("Назначение", "Assigned"),
        "event_message_incoming" => ("Сообщение клиента", "Customer message"),
        "event_message_outgoing" => ("Ответ клиенту", "Message to the customer"),
        "event_conversation_rated" => ("Оценка", "Rating"),
        "event_contact_updated" => ("Изменение контакта", "Contact updated"),
        _ => return None,
    })
}
