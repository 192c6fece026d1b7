-- Integrations of a project (outgoing webhooks first; CRMs share the table). The config is
-- sealed like a channel's; which events and channels it takes are kept plain, so queuing an
-- event never has to open a sealed value.
CREATE TABLE integrations (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    source TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    -- ",conversation_created,message_incoming," (every event when empty).
    events TEXT NOT NULL DEFAULT '',
    -- ",3,7," channel ids (every channel when empty).
    channel_ids TEXT NOT NULL DEFAULT '',
    paused_at TIMESTAMP,
    pause_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX integrations_key ON integrations (project_id, key);

-- Each event for each integration, queued in the transaction that caused it and delivered by
-- a worker: claimed with a lease, retried with a growing wait, in order per conversation.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    integration_id BIGINT NOT NULL REFERENCES integrations(id),
    project_id BIGINT NOT NULL REFERENCES projects(id),
    conversation_id BIGINT REFERENCES conversations(id),
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    first_failed_at TIMESTAMP,
    last_status INTEGER,
    last_response TEXT,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (integration_id, id);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (integration_id, conversation_id, id) WHERE status = 'pending';
