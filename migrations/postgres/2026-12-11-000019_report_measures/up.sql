-- What the reports read, kept on the conversation as it happens so no report scans messages:
-- the first customer message, the team's first answer (bot and automatic messages do not
-- count), the last resolution, reopenings and message counts. Durations are stored in
-- calendar and in working seconds (the project's schedule when they were measured).
ALTER TABLE conversations ADD COLUMN first_customer_at TIMESTAMP;
ALTER TABLE conversations ADD COLUMN first_response_at TIMESTAMP;
ALTER TABLE conversations ADD COLUMN first_response_secs BIGINT;
ALTER TABLE conversations ADD COLUMN first_response_work_secs BIGINT;
ALTER TABLE conversations ADD COLUMN resolved_at TIMESTAMP;
ALTER TABLE conversations ADD COLUMN resolution_secs BIGINT;
ALTER TABLE conversations ADD COLUMN resolution_work_secs BIGINT;
ALTER TABLE conversations ADD COLUMN reopens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN messages_in INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN messages_out INTEGER NOT NULL DEFAULT 0;

-- Conversations kept before this release: measured from their messages once (working time
-- is unknown for them and stays empty).
UPDATE conversations SET
    first_customer_at = (SELECT MIN(m.created_at) FROM messages m
        WHERE m.conversation_id = conversations.id AND m.kind = 'customer'),
    messages_in = (SELECT COUNT(*) FROM messages m
        WHERE m.conversation_id = conversations.id AND m.kind = 'customer'),
    messages_out = (SELECT COUNT(*) FROM messages m
        WHERE m.conversation_id = conversations.id AND m.kind = 'operator' AND m.author_id IS NOT NULL);
UPDATE conversations SET first_response_at = (SELECT MIN(m.created_at) FROM messages m
        WHERE m.conversation_id = conversations.id AND m.kind = 'operator'
          AND m.author_id IS NOT NULL AND m.created_at >= conversations.first_customer_at)
    WHERE first_customer_at IS NOT NULL;
UPDATE conversations SET first_response_secs =
        CAST(ROUND(EXTRACT(EPOCH FROM first_response_at - first_customer_at)) AS BIGINT)
    WHERE first_response_at IS NOT NULL;
UPDATE conversations SET resolved_at = closed_at,
    resolution_secs = CAST(ROUND(EXTRACT(EPOCH FROM closed_at - COALESCE(first_customer_at, created_at))) AS BIGINT)
    WHERE status = 'closed' AND closed_at IS NOT NULL;

-- A period's conversations (reports, the journal export), oldest first.
CREATE INDEX conversations_opened ON conversations (project_id, created_at, id);
-- A period's closings, counted per day. Its condition is one the conversation list never
-- states: with "closed_at IS NOT NULL" alone PostgreSQL would walk it, whole, for the Closed
-- tab's search instead of reading the conversations the search found by primary key. It is
-- not a bound on closed_at either: SQLite would start the range there. The reports' queries
-- state it word for word, as SQLite wants for a partial index.
CREATE INDEX conversations_closed ON conversations (project_id, closed_at)
    WHERE closed_at IS NOT NULL AND number > 0;

-- The SLA target and the daily summary (JSON, like the schedule).
ALTER TABLE project_settings ADD COLUMN reports TEXT;
-- The day whose summary went out last (the project's date), so it goes once.
ALTER TABLE project_settings ADD COLUMN summary_sent_on TEXT;

-- When members were online, for "time online" per operator.
CREATE TABLE online_spans (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP
);
CREATE INDEX online_spans_user ON online_spans (user_id, started_at);
