-- Sign-in attempts per (account, address) and per address within a window, shared by every
-- instance so that a throttle cannot be dodged by hitting another one. key is a hash, never
-- the submitted e-mail itself.
CREATE TABLE login_attempts (
    key TEXT PRIMARY KEY NOT NULL,
    attempts BIGINT NOT NULL,
    window_start TIMESTAMP NOT NULL
);
CREATE INDEX login_attempts_window ON login_attempts (window_start);

-- The channel identity a conversation's customer last wrote from: replies go there, not to
-- whichever identity of the contact the database returns first.
ALTER TABLE conversations ADD COLUMN reply_to TEXT;

-- Files a customer sent that are still on the platform: the message is committed at once and
-- a worker fetches them (state pending → ready, or failed with the reason). source is the
-- platform's reference (JSON) until then.
ALTER TABLE attachments ADD COLUMN state TEXT NOT NULL DEFAULT 'ready';
ALTER TABLE attachments ADD COLUMN source TEXT;
ALTER TABLE attachments ADD COLUMN channel_id BIGINT;
ALTER TABLE attachments ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attachments ADD COLUMN next_attempt_at TIMESTAMP;
ALTER TABLE attachments ADD COLUMN error TEXT;
CREATE INDEX attachments_pending ON attachments (next_attempt_at) WHERE state = 'pending';

-- Deliveries to one conversation (or, for bot messages outside one, to one recipient) go out
-- in the order they were written: a row waits while an older one of the same key is pending.
ALTER TABLE outbox ADD COLUMN order_key TEXT;
CREATE INDEX outbox_order ON outbox (order_key, id) WHERE status = 'pending';

-- /media/{id} and the sweep of files no row refers to look attachments up by storage key.
CREATE INDEX attachments_key ON attachments (storage_key);
