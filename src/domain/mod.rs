//! Plain types and rules with no I/O.

pub mod conversation;
pub mod event;
pub mod role;
pub mod text;

pub use conversation::{Actor, Priority, Status};
pub use role::Role;
