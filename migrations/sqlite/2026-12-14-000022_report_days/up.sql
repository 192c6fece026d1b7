-- A report over a long period reads, for each UTC day before the horizon, one packed copy
-- of what that day's conversations measure (see store::report_days) instead of its rows.
-- "day" is the UTC date as YYYY-MM-DD; "opened" holds the day's conversations, "closed"
-- the closings that happened on it.
CREATE TABLE report_days (
    project_id BIGINT NOT NULL REFERENCES projects(id),
    day TEXT NOT NULL,
    opened BLOB NOT NULL,
    closed BLOB NOT NULL,
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
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL,
    day TEXT NOT NULL
);
CREATE INDEX report_stale_day ON report_stale (project_id, day);

-- Every column a report reads but the three the hottest writes keep (first_customer_at,
-- messages_in, messages_out): store::report_days::touched marks those. A change to a
-- conversation opened (and closed) after the horizon, as nearly all are, costs one
-- primary-key probe in WHEN and writes nothing. A timestamp compares below the horizon's
-- date (as text) exactly when its day is before it.
CREATE TRIGGER report_stale_conversation_update
AFTER UPDATE OF project_id, channel_id, team_id, assignee_id, status, number, created_at,
    closed_at, first_response_secs, first_response_work_secs, resolution_secs,
    resolution_work_secs, reopens, rating
ON conversations
WHEN (SELECT until FROM report_horizon WHERE project_id = OLD.project_id)
    > min(OLD.created_at, NEW.created_at, ifnull(OLD.closed_at, OLD.created_at),
          ifnull(NEW.closed_at, OLD.created_at))
BEGIN
    INSERT INTO report_stale (project_id, day)
    SELECT OLD.project_id, d FROM (
        SELECT date(OLD.created_at) AS d UNION SELECT date(NEW.created_at)
        UNION SELECT date(OLD.closed_at) UNION SELECT date(NEW.closed_at)
    ) WHERE d IS NOT NULL
        AND d < (SELECT until FROM report_horizon WHERE project_id = OLD.project_id);
END;

CREATE TRIGGER report_stale_conversation_insert AFTER INSERT ON conversations
WHEN (SELECT until FROM report_horizon WHERE project_id = NEW.project_id)
    > min(NEW.created_at, ifnull(NEW.closed_at, NEW.created_at))
BEGIN
    INSERT INTO report_stale (project_id, day)
    SELECT NEW.project_id, d FROM (
        SELECT date(NEW.created_at) AS d UNION SELECT date(NEW.closed_at)
    ) WHERE d IS NOT NULL
        AND d < (SELECT until FROM report_horizon WHERE project_id = NEW.project_id);
END;

CREATE TRIGGER report_stale_conversation_delete AFTER DELETE ON conversations
BEGIN
    INSERT INTO report_stale (project_id, day)
    SELECT OLD.project_id, d FROM (
        SELECT date(OLD.created_at) AS d UNION SELECT date(OLD.closed_at)
    ) WHERE d IS NOT NULL
        AND d < (SELECT until FROM report_horizon WHERE project_id = OLD.project_id);
END;

CREATE TRIGGER report_stale_tag_insert AFTER INSERT ON conversation_tags
BEGIN
    INSERT INTO report_stale (project_id, day)
    SELECT c.project_id, d FROM (
        SELECT project_id, date(created_at) AS d FROM conversations WHERE id = NEW.conversation_id
        UNION SELECT project_id, date(closed_at) FROM conversations WHERE id = NEW.conversation_id
    ) c WHERE d IS NOT NULL
        AND d < (SELECT until FROM report_horizon h WHERE h.project_id = c.project_id);
END;

CREATE TRIGGER report_stale_tag_delete AFTER DELETE ON conversation_tags
BEGIN
    INSERT INTO report_stale (project_id, day)
    SELECT c.project_id, d FROM (
        SELECT project_id, date(created_at) AS d FROM conversations WHERE id = OLD.conversation_id
        UNION SELECT project_id, date(closed_at) FROM conversations WHERE id = OLD.conversation_id
    ) c WHERE d IS NOT NULL
        AND d < (SELECT until FROM report_horizon h WHERE h.project_id = c.project_id);
END;
