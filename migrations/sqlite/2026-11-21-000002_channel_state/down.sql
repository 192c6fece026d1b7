DROP TABLE notifications;
DROP TABLE bot_sessions;
DROP TABLE raw_updates;
DROP TABLE channel_state;
