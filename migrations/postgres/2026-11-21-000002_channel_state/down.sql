DROP TABLE raw_updates;
DROP TABLE channel_state;
