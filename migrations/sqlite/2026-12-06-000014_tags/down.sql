DROP TABLE conversation_tags;
DROP TABLE tags;
