-- An operator's own working hours (a schedule as JSON): within them they go online and
-- outside them offline automatically. presence_auto is the last state applied ('in'/'out'),
-- so a manual toggle holds until the next boundary.
ALTER TABLE users ADD COLUMN work_hours TEXT;
ALTER TABLE users ADD COLUMN presence_auto TEXT;
