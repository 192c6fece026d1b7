ALTER TABLE conversations DROP COLUMN reply_to;
DROP TABLE login_attempts;
