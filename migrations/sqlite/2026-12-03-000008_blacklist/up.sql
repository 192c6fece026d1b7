-- The project's blacklist: a blacklisted contact's messages are kept, but open no conversation
-- and wake no bot, auto-reply or alert.
ALTER TABLE contacts ADD COLUMN blacklisted_at TIMESTAMP;
ALTER TABLE contacts ADD COLUMN blacklist_reason TEXT;
ALTER TABLE contacts ADD COLUMN blacklisted_by BIGINT REFERENCES users(id);
CREATE INDEX contacts_blacklisted ON contacts (project_id, blacklisted_at) WHERE blacklisted_at IS NOT NULL;

-- What a blacklisted contact wrote, kept out of the inbox and shown in the blacklist's view.
CREATE TABLE withheld_messages (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    channel_id BIGINT NOT NULL REFERENCES channels(id),
    text TEXT NOT NULL,
    files TEXT NOT NULL,
    dedup_key TEXT UNIQUE,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX withheld_messages_contact ON withheld_messages (contact_id, id);
