DROP TABLE letters;
DROP INDEX memberships_link_code;
ALTER TABLE memberships DROP COLUMN link_code_until;
ALTER TABLE memberships DROP COLUMN link_code;
ALTER TABLE memberships DROP COLUMN messenger_chat;
ALTER TABLE memberships DROP COLUMN messenger_channel_id;
ALTER TABLE users DROP COLUMN notify_messenger;
ALTER TABLE users DROP COLUMN notify_email;
