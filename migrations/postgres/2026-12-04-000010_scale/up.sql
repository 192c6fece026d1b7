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

-- Full-text search over what people wrote (not the recorded changes): Russian word forms
-- through the russian configuration (English words get the English stemmer there).
CREATE INDEX messages_search ON messages USING gin (to_tsvector('russian', text))
    WHERE kind <> 'system';
-- Contacts by name, e-mail (split into its words) and phone (its digits, and their last ten
-- and seven, so "+7 916 123-45-67", "89161234567" and "1234567" all find it).
CREATE INDEX contacts_search ON contacts USING gin (to_tsvector('simple',
    coalesce(name, '') || ' ' || translate(coalesce(email, ''), '.@_-+', '     ') || ' ' ||
    regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') || ' ' ||
    right(regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'), 10) || ' ' ||
    right(regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'), 7)));

-- Conversation numbers come from a sequence per project: the counter in the project row
-- was a row every new conversation locked until its transaction ended, so committers
-- creating conversations at once waited on each other. A sequence hands out numbers
-- without a lock held to commit; a rolled-back transaction leaves a gap, which is fine.
DO $$
DECLARE p RECORD;
BEGIN
    FOR p IN SELECT id, next_number FROM projects LOOP
        EXECUTE format('CREATE SEQUENCE conversation_number_%s START WITH %s', p.id, p.next_number + 1);
    END LOOP;
END $$;
