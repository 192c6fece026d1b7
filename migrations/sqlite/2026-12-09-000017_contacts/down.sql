DROP INDEX contacts_phone;
DROP INDEX contacts_email;
DROP INDEX contacts_vip;
DROP INDEX organizations_project;
DROP INDEX contacts_organization;
DROP TABLE contact_tags;
ALTER TABLE contacts DROP COLUMN phone_key;
