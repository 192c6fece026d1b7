//! Plain data and rules with no I/O and no rendering (texts are in `i18n`).

pub mod audit;
pub mod canned;
pub mod contact;
pub mod contact_csv;
pub mod conversation;
pub mod event;
pub mod ids;
pub mod kinds;
pub mod press;
pub mod received;
pub mod role;
pub mod tag;
pub mod text;

pub use conversation::{Actor, Priority, Status};
pub use ids::{ChannelId, ContactId, ConversationId, ProjectId};
pub use kinds::{
    ChannelKind, ChannelSource, Delivery, IntegrationKind, MessageKind, TagColour, TimerKind,
    WebhookEvent,
};
pub use press::Press;
pub use received::Received;
pub use role::{ALL_ROLES, Access, Can, Role};
