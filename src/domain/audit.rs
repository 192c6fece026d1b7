//! What the audit log records: the kinds of change an admin may want to trace back.

use crate::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    MemberInvited,
    MemberAccess,
    MemberSwitchedOff,
    MemberSwitchedOn,
    MemberRemoved,
    HandedOver,
    LinkMade,
    TeamCreated,
    TeamChanged,
    TeamDeleted,
    ChannelConnected,
    ChannelChanged,
    ChannelDisconnected,
    SettingsChanged,
    Blacklisted,
    Unblacklisted,
    ContactsMerged,
    ContactsImported,
}

pub const ALL_ACTIONS: [Action; 18] = [
    Action::MemberInvited,
    Action::MemberAccess,
    Action::MemberSwitchedOff,
    Action::MemberSwitchedOn,
    Action::MemberRemoved,
    Action::HandedOver,
    Action::LinkMade,
    Action::TeamCreated,
    Action::TeamChanged,
    Action::TeamDeleted,
    Action::ChannelConnected,
    Action::ChannelChanged,
    Action::ChannelDisconnected,
    Action::SettingsChanged,
    Action::Blacklisted,
    Action::Unblacklisted,
    Action::ContactsMerged,
    Action::ContactsImported,
];

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::MemberInvited => "member_invited",
            Action::MemberAccess => "member_access",
            Action::MemberSwitchedOff => "member_switched_off",
            Action::MemberSwitchedOn => "member_switched_on",
            Action::MemberRemoved => "member_removed",
            Action::HandedOver => "handed_over",
            Action::LinkMade => "link_made",
            Action::TeamCreated => "team_created",
            Action::TeamChanged => "team_changed",
            Action::TeamDeleted => "team_deleted",
            Action::ChannelConnected => "channel_connected",
            Action::ChannelChanged => "channel_changed",
            Action::ChannelDisconnected => "channel_disconnected",
            Action::SettingsChanged => "settings_changed",
            Action::Blacklisted => "blacklisted",
            Action::Unblacklisted => "unblacklisted",
            Action::ContactsMerged => "contacts_merged",
            Action::ContactsImported => "contacts_imported",
        }
    }

    pub fn parse(s: &str) -> Result<Action, Error> {
        ALL_ACTIONS
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| Error::invalid(format!("unknown audit action \"{s}\"")))
    }
}
