DO $$
DECLARE p RECORD;
BEGIN
    FOR p IN SELECT id FROM projects LOOP
        EXECUTE format('UPDATE projects SET next_number = (SELECT coalesce(max(number), 0) FROM conversations WHERE project_id = %s) WHERE id = %s', p.id, p.id);
        EXECUTE format('DROP SEQUENCE IF EXISTS conversation_number_%s', p.id);
    END LOOP;
END $$;
DROP INDEX contacts_search;
DROP INDEX messages_search;
DROP INDEX conversations_channel_recent;
DROP INDEX conversations_assignee;
DROP INDEX conversations_open_assignee;
DROP INDEX conversations_open;
DROP INDEX conversations_recent;
CREATE INDEX conversations_assignee ON conversations (project_id, assignee_id, status);
