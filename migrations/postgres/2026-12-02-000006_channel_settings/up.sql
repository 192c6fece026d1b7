-- A channel disconnected in the settings: it neither receives nor sends and is gone from the
-- channel list, while its conversations and their history stay.
ALTER TABLE channels ADD COLUMN disconnected_at TIMESTAMP;

-- The team a channel's new conversations start in (none: the whole project's queue).
ALTER TABLE channels ADD COLUMN default_team_id BIGINT REFERENCES teams(id);

-- "Last message received" per channel on the settings page: the newest customer message of
-- the channel's conversations, read from the end of this index.
CREATE INDEX conversations_channel_received ON conversations (channel_id, last_customer_at);
