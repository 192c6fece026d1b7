DROP INDEX conversations_waiting;
ALTER TABLE memberships DROP COLUMN assigned_turn;
