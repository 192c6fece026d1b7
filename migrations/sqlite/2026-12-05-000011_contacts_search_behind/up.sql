-- Contacts are indexed for search behind the write path, like messages: a trigger writing
-- the FTS index made every later statement of the transaction flush it to disk, a fifth of
-- the cost of a customer's first message. Changes to contacts already indexed still go
-- through triggers; the rest are read directly until the indexer reaches them.
ALTER TABLE search_progress ADD COLUMN contacts_up_to BIGINT NOT NULL DEFAULT 0;
UPDATE search_progress SET contacts_up_to = (SELECT coalesce(max(id), 0) FROM contacts);
DROP TRIGGER contacts_search_insert;
DROP TRIGGER contacts_search_update;
DROP TRIGGER contacts_search_delete;
CREATE TRIGGER contacts_search_update AFTER UPDATE OF name, email, phone ON contacts
    WHEN old.id <= (SELECT contacts_up_to FROM search_progress) BEGIN
    DELETE FROM contacts_search WHERE rowid = old.id;
    INSERT INTO contacts_search (rowid, name, email, phone)
    SELECT id, name, email, phone FROM contacts_search_source WHERE id = new.id;
END;
CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts
    WHEN old.id <= (SELECT contacts_up_to FROM search_progress) BEGIN
    DELETE FROM contacts_search WHERE rowid = old.id;
END;
