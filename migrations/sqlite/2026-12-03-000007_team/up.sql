-- A member switched off by an admin: their sessions, streams and tokens in this project stop
-- and they cannot sign in to it, while everything they wrote stays.
ALTER TABLE memberships ADD COLUMN active BOOLEAN NOT NULL DEFAULT 1;

-- A member holds a set of access levels ("operator,analytics"). The old "supervisor" level
-- meant an operator who also sees how the team works.
UPDATE memberships SET role = 'operator,analytics' WHERE role = 'supervisor';

ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users ADD COLUMN last_seen_at TIMESTAMP;

-- Invitations and password-reset links: only the hash of the token is kept; each is used
-- once and expires.
CREATE TABLE access_links (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users(id),
    project_id BIGINT NOT NULL REFERENCES projects(id),
    purpose TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX access_links_user ON access_links (user_id);

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- "My teams" in the inbox and a deleted team's conversations are read through this.
CREATE INDEX conversations_team ON conversations (project_id, team_id, status);

-- The server's owner (the first admin, or `perepiska admin create --owner`) creates projects
-- from the console's project switcher.
ALTER TABLE users ADD COLUMN owner BOOLEAN NOT NULL DEFAULT 0;
UPDATE users SET owner = 1 WHERE id = (SELECT MIN(user_id) FROM memberships WHERE role LIKE '%admin%');

-- Each member's own console: language (ru, en; none follows the browser), the time zone
-- times are shown in (none: the project's), which events make a sound, and an avatar the
-- widget shows beside their answers (a file in the attachment storage).
ALTER TABLE users ADD COLUMN language TEXT;
ALTER TABLE users ADD COLUMN timezone TEXT;
ALTER TABLE users ADD COLUMN sounds TEXT NOT NULL DEFAULT 'conversation,message';
ALTER TABLE users ADD COLUMN avatar TEXT;
CREATE INDEX users_avatar ON users (avatar);
