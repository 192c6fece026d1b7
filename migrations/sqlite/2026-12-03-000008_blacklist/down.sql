DROP TABLE withheld_messages;
DROP INDEX contacts_blacklisted;
ALTER TABLE contacts DROP COLUMN blacklisted_by;
ALTER TABLE contacts DROP COLUMN blacklist_reason;
ALTER TABLE contacts DROP COLUMN blacklisted_at;
