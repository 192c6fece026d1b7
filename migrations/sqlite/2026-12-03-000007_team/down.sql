DROP INDEX conversations_team;
ALTER TABLE users DROP COLUMN owner;
DROP TABLE team_members;
DROP TABLE access_links;
ALTER TABLE users DROP COLUMN last_seen_at;
ALTER TABLE users DROP COLUMN phone;
UPDATE memberships SET role = 'operator' WHERE role <> 'admin' AND role <> 'settings';
ALTER TABLE memberships DROP COLUMN active;
