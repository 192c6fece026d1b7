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
