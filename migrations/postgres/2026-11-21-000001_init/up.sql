CREATE TABLE projects (
    id BIGSERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL DEFAULT 'Europe/Moscow',
    next_number BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    online BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE memberships (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    UNIQUE (project_id, user_id)
);

CREATE TABLE sessions (
    id BIGSERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users(id),
    project_id BIGINT NOT NULL REFERENCES projects(id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users(id),
    project_id BIGINT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);

CREATE TABLE teams (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE organizations (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    vip BOOLEAN NOT NULL DEFAULT FALSE,
    manager_id BIGINT REFERENCES users(id)
);

CREATE TABLE channels (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    source TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE contacts (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    vip BOOLEAN NOT NULL DEFAULT FALSE,
    organization_id BIGINT REFERENCES organizations(id),
    language TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX contacts_project ON contacts (project_id);

CREATE TABLE contact_identities (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    channel_id BIGINT NOT NULL REFERENCES channels(id),
    external_id TEXT NOT NULL,
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    blocked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (channel_id, external_id)
);
CREATE INDEX contact_identities_contact ON contact_identities (contact_id);

CREATE TABLE conversations (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    number BIGINT NOT NULL,
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    channel_id BIGINT NOT NULL REFERENCES channels(id),
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL DEFAULT 'normal',
    assignee_id BIGINT REFERENCES users(id),
    team_id BIGINT REFERENCES teams(id),
    due_at TIMESTAMP,
    unread BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_message_at TIMESTAMP NOT NULL,
    last_customer_at TIMESTAMP,
    last_operator_at TIMESTAMP,
    closed_at TIMESTAMP,
    rating INTEGER,
    rating_comment TEXT,
    -- Where the request was made when not in the customer's private chat (a Telegram group):
    -- notices go there too.
    origin TEXT,
    UNIQUE (project_id, number)
);
CREATE INDEX conversations_list ON conversations (project_id, status, last_message_at);
CREATE INDEX conversations_contact ON conversations (contact_id, channel_id, status);
CREATE INDEX conversations_assignee ON conversations (project_id, assignee_id, status);

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    conversation_id BIGINT NOT NULL REFERENCES conversations(id),
    kind TEXT NOT NULL,
    author_id BIGINT REFERENCES users(id),
    text TEXT NOT NULL,
    delivery TEXT NOT NULL,
    error TEXT,
    dedup_key TEXT UNIQUE,
    platform_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);

CREATE TABLE attachments (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    message_id BIGINT NOT NULL REFERENCES messages(id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    storage_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    -- NULL for bot messages that belong to no conversation (menus); then recipient and
    -- payload say what to send.
    message_id BIGINT REFERENCES messages(id),
    channel_id BIGINT NOT NULL REFERENCES channels(id),
    recipient TEXT,
    payload TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- SQLite gets a Rust implementation of the same function on every connection, so search is
-- case-insensitive for Cyrillic on both backends with one query.
CREATE FUNCTION unicode_lower(TEXT) RETURNS TEXT AS 'SELECT lower($1)' LANGUAGE SQL IMMUTABLE;
