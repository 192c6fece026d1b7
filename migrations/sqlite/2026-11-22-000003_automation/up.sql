-- Automation timers (auto-replies, inactivity auto-close, unanswered alerts): one row per
-- conversation, kind and step, so moving a timer is an update and firing it is a state change
-- made in the same transaction as what it does (exactly once, across restarts and instances).
CREATE TABLE timers (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    conversation_id BIGINT NOT NULL REFERENCES conversations(id),
    kind TEXT NOT NULL,
    step INTEGER NOT NULL DEFAULT 0,
    due_at TIMESTAMP NOT NULL,
    state TEXT NOT NULL,
    fired_at TIMESTAMP,
    UNIQUE (conversation_id, kind, step)
);
CREATE INDEX timers_due ON timers (state, due_at);

-- Project-wide automation settings: the work schedule and where unanswered alerts go.
-- source says who wrote them last: channels.toml ('file') or the settings page ('web');
-- the file does not overwrite what the settings page saved.
CREATE TABLE project_settings (
    project_id BIGINT PRIMARY KEY REFERENCES projects(id),
    schedule TEXT,
    alerts TEXT,
    source TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Automation rules saved from the settings page; they win over the channel's file keys.
ALTER TABLE channels ADD COLUMN automation TEXT;
