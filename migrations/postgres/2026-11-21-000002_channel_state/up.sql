-- Small per-channel state that must survive restarts (e.g. Telegram's getUpdates offset).
CREATE TABLE channel_state (
    id BIGSERIAL PRIMARY KEY,
    channel_id BIGINT NOT NULL REFERENCES channels(id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (channel_id, key)
);

-- Platform updates we could not understand: kept for inspection, never retried.
CREATE TABLE raw_updates (
    id BIGSERIAL PRIMARY KEY,
    channel_id BIGINT NOT NULL REFERENCES channels(id),
    payload TEXT NOT NULL,
    error TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Where each customer is in the bot's dialog (menus, pending choices), per channel.
CREATE TABLE bot_sessions (
    id BIGSERIAL PRIMARY KEY,
    channel_id BIGINT NOT NULL REFERENCES channels(id),
    external_id TEXT NOT NULL,
    state TEXT NOT NULL,
    last_event TEXT,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (channel_id, external_id)
);

-- What an operator should look at: shown under the bell in the console.
CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    conversation_id BIGINT REFERENCES conversations(id),
    text TEXT NOT NULL,
    seen BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX notifications_user ON notifications (user_id, project_id, seen);
