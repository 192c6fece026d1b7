//! Background work: delivery (outbox), files still on the platforms (fetcher), timers and
//! sweeps (scheduler), long polling and webhook registration (pollers), outgoing webhooks
//! (webhooks). Each one
//! stops taking work when the shutdown signal comes and hands back what it claimed.

pub mod fetcher;
pub mod letters;
pub mod outbox;
pub mod pollers;
pub mod scheduler;
pub mod summary;
pub mod wakeup;
pub mod webhooks;
