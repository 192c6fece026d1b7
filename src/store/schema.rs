// Hand-kept: one schema in types both backends share (BigInt ids, UTC Timestamp, Text).
// `print-schema` differs per backend, so never regenerate this file from one of them.

diesel::table! {
    projects (id) {
        id -> BigInt,
        slug -> Text,
        name -> Text,
        timezone -> Text,
        next_number -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        online -> Bool,
        created_at -> Timestamp,
        work_hours -> Nullable<Text>,
        presence_auto -> Nullable<Text>,
        phone -> Nullable<Text>,
        last_seen_at -> Nullable<Timestamp>,
        owner -> Bool,
        language -> Nullable<Text>,
        timezone -> Nullable<Text>,
        sounds -> Text,
        avatar -> Nullable<Text>,
        notify -> Text,
        notify_email -> Text,
        notify_messenger -> Text,
    }
}

diesel::table! {
    memberships (id) {
        id -> BigInt,
        project_id -> BigInt,
        user_id -> BigInt,
        role -> Text,
        active -> Bool,
        assigned_turn -> Nullable<BigInt>,
        messenger_channel_id -> Nullable<BigInt>,
        messenger_chat -> Nullable<Text>,
        link_code -> Nullable<Text>,
        link_code_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    integrations (id) {
        id -> BigInt,
        project_id -> BigInt,
        key -> Text,
        kind -> Text,
        name -> Text,
        config -> Text,
        source -> Text,
        enabled -> Bool,
        events -> Text,
        channel_ids -> Text,
        paused_at -> Nullable<Timestamp>,
        pause_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        integration_id -> BigInt,
        project_id -> BigInt,
        conversation_id -> Nullable<BigInt>,
        event -> Text,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        first_failed_at -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_response -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(webhook_deliveries -> integrations (integration_id));

diesel::table! {
    crm_links (id) {
        id -> BigInt,
        integration_id -> BigInt,
        project_id -> BigInt,
        conversation_id -> BigInt,
        entity -> Text,
        entity_id -> Nullable<BigInt>,
        contact_id -> Nullable<BigInt>,
        url -> Nullable<Text>,
        first_message_id -> Nullable<BigInt>,
        transcript_until -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(crm_links -> integrations (integration_id));

diesel::table! {
    letters (id) {
        id -> BigInt,
        project_id -> BigInt,
        user_id -> BigInt,
        conversation_id -> Nullable<BigInt>,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    access_links (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        project_id -> BigInt,
        purpose -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    team_members (team_id, user_id) {
        team_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        project_id -> BigInt,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    login_attempts (key) {
        key -> Text,
        attempts -> BigInt,
        window_start -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        project_id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    teams (id) {
        id -> BigInt,
        project_id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    organizations (id) {
        id -> BigInt,
        project_id -> BigInt,
        name -> Text,
        vip -> Bool,
        manager_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    channels (id) {
        id -> BigInt,
        project_id -> BigInt,
        key -> Text,
        kind -> Text,
        name -> Text,
        config -> Text,
        source -> Text,
        enabled -> Bool,
        created_at -> Timestamp,
        automation -> Nullable<Text>,
        disconnected_at -> Nullable<Timestamp>,
        default_team_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    contacts (id) {
        id -> BigInt,
        project_id -> BigInt,
        name -> Text,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        vip -> Bool,
        organization_id -> Nullable<BigInt>,
        language -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        blacklisted_at -> Nullable<Timestamp>,
        blacklist_reason -> Nullable<Text>,
        blacklisted_by -> Nullable<BigInt>,
        phone_key -> Nullable<Text>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        project_id -> BigInt,
        user_id -> Nullable<BigInt>,
        action -> Text,
        subject -> Text,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    canned_responses (id) {
        id -> BigInt,
        project_id -> BigInt,
        owner_id -> Nullable<BigInt>,
        shortcut -> Text,
        title -> Text,
        text -> Text,
        files -> Text,
        used -> BigInt,
        last_used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tags (id) {
        id -> BigInt,
        project_id -> BigInt,
        name -> Text,
        name_key -> Text,
        colour -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    conversation_tags (conversation_id, tag_id) {
        conversation_id -> BigInt,
        tag_id -> BigInt,
    }
}

diesel::table! {
    contact_tags (contact_id, tag_id) {
        contact_id -> BigInt,
        tag_id -> BigInt,
    }
}

diesel::table! {
    withheld_messages (id) {
        id -> BigInt,
        project_id -> BigInt,
        contact_id -> BigInt,
        channel_id -> BigInt,
        text -> Text,
        files -> Text,
        dedup_key -> Nullable<Text>,
        received_at -> Timestamp,
    }
}

diesel::table! {
    contact_identities (id) {
        id -> BigInt,
        project_id -> BigInt,
        channel_id -> BigInt,
        external_id -> Text,
        contact_id -> BigInt,
        blocked -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    conversations (id) {
        id -> BigInt,
        project_id -> BigInt,
        number -> BigInt,
        contact_id -> BigInt,
        channel_id -> BigInt,
        subject -> Text,
        status -> Text,
        priority -> Text,
        assignee_id -> Nullable<BigInt>,
        team_id -> Nullable<BigInt>,
        due_at -> Nullable<Timestamp>,
        unread -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_message_at -> Timestamp,
        last_customer_at -> Nullable<Timestamp>,
        last_operator_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        rating -> Nullable<Integer>,
        rating_comment -> Nullable<Text>,
        origin -> Nullable<Text>,
        reply_to -> Nullable<Text>,
        first_customer_at -> Nullable<Timestamp>,
        first_response_at -> Nullable<Timestamp>,
        first_response_secs -> Nullable<BigInt>,
        first_response_work_secs -> Nullable<BigInt>,
        resolved_at -> Nullable<Timestamp>,
        resolution_secs -> Nullable<BigInt>,
        resolution_work_secs -> Nullable<BigInt>,
        reopens -> Integer,
        messages_in -> Integer,
        messages_out -> Integer,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        project_id -> BigInt,
        conversation_id -> BigInt,
        kind -> Text,
        author_id -> Nullable<BigInt>,
        text -> Text,
        delivery -> Text,
        error -> Nullable<Text>,
        dedup_key -> Nullable<Text>,
        platform_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        project_id -> BigInt,
        message_id -> BigInt,
        file_name -> Text,
        content_type -> Text,
        size -> BigInt,
        storage_key -> Text,
        created_at -> Timestamp,
        state -> Text,
        source -> Nullable<Text>,
        channel_id -> Nullable<BigInt>,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        project_id -> BigInt,
        message_id -> Nullable<BigInt>,
        channel_id -> BigInt,
        recipient -> Nullable<Text>,
        payload -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        order_key -> Nullable<Text>,
    }
}

diesel::table! {
    channel_state (id) {
        id -> BigInt,
        channel_id -> BigInt,
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    raw_updates (id) {
        id -> BigInt,
        channel_id -> BigInt,
        payload -> Text,
        error -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    bot_sessions (id) {
        id -> BigInt,
        channel_id -> BigInt,
        external_id -> Text,
        state -> Text,
        last_event -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        project_id -> BigInt,
        user_id -> BigInt,
        conversation_id -> Nullable<BigInt>,
        text -> Text,
        seen -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    timers (id) {
        id -> BigInt,
        project_id -> BigInt,
        conversation_id -> BigInt,
        kind -> Text,
        step -> Integer,
        due_at -> Timestamp,
        state -> Text,
        fired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    project_settings (project_id) {
        project_id -> BigInt,
        schedule -> Nullable<Text>,
        alerts -> Nullable<Text>,
        source -> Text,
        reports -> Nullable<Text>,
        summary_sent_on -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(memberships -> projects (project_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(letters -> users (user_id));
diesel::joinable!(team_members -> users (user_id));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(conversations -> contacts (contact_id));
diesel::joinable!(conversations -> channels (channel_id));
diesel::table! {
    online_spans (id) {
        id -> BigInt,
        user_id -> BigInt,
        started_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(attachments -> messages (message_id));
diesel::joinable!(contact_identities -> contacts (contact_id));

diesel::table! {
    report_days (project_id, day) {
        project_id -> BigInt,
        day -> Text,
        opened -> Binary,
        closed -> Binary,
        built_at -> Timestamp,
    }
}

diesel::table! {
    report_horizon (project_id) {
        project_id -> BigInt,
        until -> Text,
        moved_at -> Timestamp,
    }
}

diesel::table! {
    report_stale (id) {
        id -> BigInt,
        project_id -> BigInt,
        day -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    projects,
    users,
    memberships,
    sessions,
    login_attempts,
    api_tokens,
    teams,
    organizations,
    channels,
    contacts,
    contact_identities,
    conversations,
    messages,
    attachments,
    outbox,
    channel_state,
    raw_updates,
    bot_sessions,
    notifications,
    timers,
    project_settings,
    access_links,
    team_members,
    withheld_messages,
    audit_log,
    canned_responses,
    tags,
    conversation_tags,
    contact_tags,
    letters,
    online_spans,
    integrations,
    webhook_deliveries,
    crm_links,
    report_days,
    report_horizon,
    report_stale,
);
