ALTER TABLE users DROP COLUMN presence_auto;
ALTER TABLE users DROP COLUMN work_hours;
