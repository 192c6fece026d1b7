DROP TRIGGER contacts_search_update;
DROP TRIGGER contacts_search_delete;
INSERT INTO contacts_search (rowid, name, email, phone)
SELECT id, name, email, phone FROM contacts_search_source
WHERE id > (SELECT contacts_up_to FROM search_progress);
ALTER TABLE search_progress DROP COLUMN contacts_up_to;
CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_search (rowid, name, email, phone)
    SELECT id, name, email, phone FROM contacts_search_source WHERE id = new.id;
END;
CREATE TRIGGER contacts_search_update AFTER UPDATE OF name, email, phone ON contacts BEGIN
    DELETE FROM contacts_search WHERE rowid = old.id;
    INSERT INTO contacts_search (rowid, name, email, phone)
    SELECT id, name, email, phone FROM contacts_search_source WHERE id = new.id;
END;
CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contacts_search WHERE rowid = old.id;
END;
