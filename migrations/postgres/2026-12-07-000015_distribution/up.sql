-- Round-robin gives the next conversation to the member whose turn came longest ago: each
-- conversation handed out in a project takes the next turn number (a time would tie when
-- one transaction hands out several).
ALTER TABLE memberships ADD COLUMN assigned_turn BIGINT;

-- The queue distribution hands out: open conversations nobody holds, per channel, oldest
-- first. Small (assigned and closed ones leave it), so a million closed conversations cost
-- it nothing.
CREATE INDEX conversations_waiting ON conversations (channel_id, last_message_at, id)
    WHERE closed_at IS NULL AND assignee_id IS NULL;
