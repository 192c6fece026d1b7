-- Canned replies: the project's (owner_id NULL, edited by admins and the settings level) and
-- each member's own. A member's own shortcut may repeat a project one and wins for them.
CREATE TABLE canned_responses (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    owner_id BIGINT REFERENCES users(id),
    shortcut TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    -- The files sent with it, as JSON (names and storage keys); copied into each message.
    files TEXT NOT NULL DEFAULT '[]',
    used BIGINT NOT NULL DEFAULT 0,
    last_used_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX canned_responses_shortcut ON canned_responses (project_id, COALESCE(owner_id, 0), shortcut);
