-- Coloured tags of a project, put on conversations. Names are unique per project whatever
-- their case (name_key is the lower-cased name).
CREATE TABLE tags (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    colour TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tags_name ON tags (project_id, name_key);

CREATE TABLE conversation_tags (
    conversation_id BIGINT NOT NULL REFERENCES conversations(id),
    tag_id BIGINT NOT NULL REFERENCES tags(id),
    PRIMARY KEY (conversation_id, tag_id)
);
-- A tag's conversations, newest first (the list's tag filter).
CREATE INDEX conversation_tags_tag ON conversation_tags (tag_id, conversation_id);
