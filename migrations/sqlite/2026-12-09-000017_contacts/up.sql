-- Contacts become a list of their own (the contacts page, the REST API, CSV import).
-- phone_key is the phone as digits with a Russian number in one form (8 916… and 916… read
-- as 7 916…): registration by phone and the import look a contact up by it in one index
-- lookup instead of comparing every phone of the project.
ALTER TABLE contacts ADD COLUMN phone_key TEXT;
UPDATE contacts SET phone_key = (
    SELECT CASE
        WHEN length(d) = 11 AND substr(d, 1, 1) = '8' THEN '7' || substr(d, 2)
        WHEN length(d) = 10 AND substr(d, 1, 1) = '9' THEN '7' || d
        WHEN d = '' THEN NULL
        ELSE d END
    FROM (SELECT replace(replace(replace(replace(replace(replace(phone, '+', ''), ' ', ''), '-', ''), '(', ''), ')', ''), '.', '') AS d))
WHERE phone IS NOT NULL;
-- Tags on contacts, like on conversations.
CREATE TABLE contact_tags (
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    tag_id BIGINT NOT NULL REFERENCES tags(id),
    PRIMARY KEY (contact_id, tag_id)
);
-- A tag's contacts, newest first (the contacts page's tag filter).
CREATE INDEX contact_tags_tag ON contact_tags (tag_id, contact_id);
-- An organisation's contacts, newest first; the project's organisations by name.
CREATE INDEX contacts_organization ON contacts (organization_id, id) WHERE organization_id IS NOT NULL;
CREATE INDEX organizations_project ON organizations (project_id, name);
-- The VIP filter, newest first (both equalities in the index, so SQLite prefers it to the
-- project's).
CREATE INDEX contacts_vip ON contacts (project_id, vip, id);
-- A CSV import finds who it updates by e-mail or phone.
CREATE INDEX contacts_email ON contacts (project_id, email, id) WHERE email IS NOT NULL;
CREATE INDEX contacts_phone ON contacts (project_id, phone_key, id) WHERE phone_key IS NOT NULL;
