ALTER TABLE channels DROP COLUMN automation;
DROP TABLE project_settings;
DROP TABLE timers;
