-- Where each member also hears of what they chose: by e-mail and through a messenger bot
-- of the project (the chat they linked with a one-time code), each with its own topics.
-- "replied" (a customer answered in my conversation) is a new topic, on under the bell
-- for everyone who hears of anything there.
ALTER TABLE users ADD COLUMN notify_email TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN notify_messenger TEXT NOT NULL DEFAULT '';
UPDATE users SET notify = notify || ',replied' WHERE notify <> '';

-- The link is per project: a project's notices go only through that project's own bot.
ALTER TABLE memberships ADD COLUMN messenger_channel_id BIGINT REFERENCES channels(id);
ALTER TABLE memberships ADD COLUMN messenger_chat TEXT;
ALTER TABLE memberships ADD COLUMN link_code TEXT;
ALTER TABLE memberships ADD COLUMN link_code_until TIMESTAMP;
CREATE UNIQUE INDEX memberships_link_code ON memberships (link_code) WHERE link_code IS NOT NULL;

-- Notification letters waiting for the SMTP server, claimed like the outbox.
CREATE TABLE letters (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    conversation_id BIGINT REFERENCES conversations(id),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX letters_due ON letters (next_attempt_at) WHERE status = 'pending';
