DROP INDEX timers_pending;
CREATE INDEX timers_due ON timers (state, due_at);
