-- A report over a long period reads, for each UTC day before the horizon, one packed copy
-- of what that day's conversations measure (see store::report_days) instead of its rows.
-- "day" is the UTC date as YYYY-MM-DD; "opened" holds the day's conversations, "closed"
-- the closings that happened on it.
CREATE TABLE report_days (
    project_id BIGINT NOT NULL REFERENCES projects(id),
    day TEXT NOT NULL,
    opened BYTEA NOT NULL,
    closed BYTEA NOT NULL,
    built_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, day)
);

-- Days before "until" are packed; moved_at tells the builder when the horizon last moved, so
-- it builds the newly covered days only after any transaction that saw the old one is over.
CREATE TABLE report_horizon (
    project_id BIGINT PRIMARY KEY REFERENCES projects(id),
    until TEXT NOT NULL,
    moved_at TIMESTAMP NOT NULL
);

-- A packed day that no longer says what its rows say. Written by the triggers below in the
-- very transaction of the change, append-only (no row is updated, so no writer waits on
-- another); the builder deletes exactly the marks it has read once it has rebuilt the day.
CREATE TABLE report_stale (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL,
    day TEXT NOT NULL
);
CREATE INDEX report_stale_day ON report_stale (project_id, day);

-- Marks the UTC days of these instants stale when they lie before the project's horizon.
-- A change to a conversation opened (and closed) after it, as nearly all are, costs one
-- primary-key probe and writes nothing.
CREATE FUNCTION report_mark_stale(p BIGINT, VARIADIC ats TIMESTAMP[]) RETURNS VOID AS $$
DECLARE
    u TEXT;
BEGIN
    SELECT until INTO u FROM report_horizon WHERE project_id = p;
    IF u IS NULL THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(ats) AS a WHERE a < u::timestamp) THEN
        INSERT INTO report_stale (project_id, day)
        SELECT DISTINCT p, to_char(a, 'YYYY-MM-DD') FROM unnest(ats) AS a
        WHERE a < u::timestamp;
    END IF;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION report_stale_conversation() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM report_mark_stale(NEW.project_id, NEW.created_at, NEW.closed_at);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM report_mark_stale(OLD.project_id, OLD.created_at, OLD.closed_at);
    ELSE
        PERFORM report_mark_stale(OLD.project_id, OLD.created_at, NEW.created_at,
            OLD.closed_at, NEW.closed_at);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Every column a report reads but the three the hottest writes keep (first_customer_at,
-- messages_in, messages_out): store::report_days::touched marks those.
CREATE TRIGGER report_stale_conversation_update
AFTER UPDATE OF project_id, channel_id, team_id, assignee_id, status, number, created_at,
    closed_at, first_response_secs, first_response_work_secs, resolution_secs,
    resolution_work_secs, reopens, rating
ON conversations FOR EACH ROW EXECUTE FUNCTION report_stale_conversation();
CREATE TRIGGER report_stale_conversation_insert AFTER INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION report_stale_conversation();
CREATE TRIGGER report_stale_conversation_delete AFTER DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION report_stale_conversation();

CREATE FUNCTION report_stale_tag() RETURNS TRIGGER AS $$
DECLARE
    c BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN c := OLD.conversation_id; ELSE c := NEW.conversation_id; END IF;
    PERFORM report_mark_stale(project_id, created_at, closed_at)
        FROM conversations WHERE id = c;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER report_stale_tag_insert AFTER INSERT ON conversation_tags
    FOR EACH ROW EXECUTE FUNCTION report_stale_tag();
CREATE TRIGGER report_stale_tag_delete AFTER DELETE ON conversation_tags
    FOR EACH ROW EXECUTE FUNCTION report_stale_tag();
