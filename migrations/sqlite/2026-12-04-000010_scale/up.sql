-- Every list the inbox shows reads newest first from an index whose order is the list's
-- order, so a page costs the same at a thousand conversations and at a million. Open and
-- closed conversations are told apart by closed_at (set exactly when the status is final),
-- and the open ones, a few thousand at most, get small partial indexes of their own.
-- A status filter keeps reading conversations_list (project, status, last_message_at).
DROP INDEX conversations_assignee;
CREATE INDEX conversations_recent ON conversations (project_id, last_message_at, id);
-- closed_at is a column of the partial indexes too (always NULL there) so that a planner
-- without statistics (SQLite's) sees them match one term more than the full ones and
-- picks them for open lists.
CREATE INDEX conversations_open ON conversations (project_id, closed_at, last_message_at, id)
    WHERE closed_at IS NULL;
CREATE INDEX conversations_open_assignee ON conversations (project_id, assignee_id, closed_at, last_message_at, id)
    WHERE closed_at IS NULL;
CREATE INDEX conversations_assignee ON conversations (project_id, assignee_id, last_message_at, id);
CREATE INDEX conversations_channel_recent ON conversations (channel_id, last_message_at, id);

-- Full-text search over what people wrote (not the recorded changes). Messages are indexed
-- behind the write path, in batches (search_progress says how far): a trigger per message
-- made every group commit write and merge an FTS segment and cut ingest by a quarter.
CREATE VIRTUAL TABLE messages_search USING fts5(
    text, content = 'messages', content_rowid = 'id', detail = none,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE search_progress (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    messages_up_to BIGINT NOT NULL
);
INSERT INTO messages_search (rowid, text) SELECT id, text FROM messages WHERE kind <> 'system';
INSERT INTO search_progress (id, messages_up_to) SELECT 1, coalesce(max(id), 0) FROM messages;
-- Messages are never deleted or edited today; if they are, the index must follow.
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages
    WHEN old.kind <> 'system' AND old.id <= (SELECT messages_up_to FROM search_progress) BEGIN
    INSERT INTO messages_search (messages_search, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_search_update AFTER UPDATE OF text ON messages
    WHEN old.kind <> 'system' AND old.id <= (SELECT messages_up_to FROM search_progress) BEGIN
    INSERT INTO messages_search (messages_search, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO messages_search (rowid, text) VALUES (new.id, new.text);
END;

-- A phone is indexed as its digits and its last ten and seven digits, so "+7 916 123-45-67",
-- "89161234567" and "1234567" all find it.
CREATE VIRTUAL TABLE contacts_search USING fts5(
    name, email, phone, content = '', contentless_delete = 1, detail = none,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIEW contacts_search_source AS
SELECT id, name, coalesce(email, '') AS email, d || ' ' || substr(d, -10) || ' ' || substr(d, -7) AS phone
FROM (SELECT id, name, email,
      replace(replace(replace(replace(replace(replace(coalesce(phone, ''), '+', ''), ' ', ''), '-', ''), '(', ''), ')', ''), '.', '') AS d
      FROM contacts);
CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_search (rowid, name, email, phone)
    SELECT id, name, email, phone FROM contacts_search_source WHERE id = new.id;
END;
CREATE TRIGGER contacts_search_update AFTER UPDATE OF name, email, phone ON contacts BEGIN
    DELETE FROM contacts_search WHERE rowid = old.id;
    INSERT INTO contacts_search (rowid, name, email, phone)
    SELECT id, name, email, phone FROM contacts_search_source WHERE id = new.id;
END;
CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contacts_search WHERE rowid = old.id;
END;
INSERT INTO contacts_search (rowid, name, email, phone)
SELECT id, name, email, phone FROM contacts_search_source;
