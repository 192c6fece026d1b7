-- Who changed which setting, channel, member or access, and when (Settings → Audit log).
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    user_id BIGINT REFERENCES users(id),
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_project ON audit_log (project_id, id);
