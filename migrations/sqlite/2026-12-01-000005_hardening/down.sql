DROP INDEX attachments_pending;
ALTER TABLE attachments DROP COLUMN error;
ALTER TABLE attachments DROP COLUMN next_attempt_at;
ALTER TABLE attachments DROP COLUMN attempts;
ALTER TABLE attachments DROP COLUMN channel_id;
ALTER TABLE attachments DROP COLUMN source;
ALTER TABLE attachments DROP COLUMN state;
ALTER TABLE conversations DROP COLUMN reply_to;
DROP TABLE login_attempts;
