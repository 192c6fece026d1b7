DROP INDEX conversations_channel_received;
ALTER TABLE channels DROP COLUMN default_team_id;
ALTER TABLE channels DROP COLUMN disconnected_at;
