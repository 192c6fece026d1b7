-- Only pending timers are looked up by due time, and only they were in the way: with
-- (state, due_at) the planner read every pending timer for "this conversation's pending
-- timers" (a million of them at scale) instead of the conversation's own few. A partial
-- index holds just what the scheduler reads, in its order.
DROP INDEX timers_due;
CREATE INDEX timers_pending ON timers (due_at, id) WHERE state = 'pending';
