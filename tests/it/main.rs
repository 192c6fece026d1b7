//! The one integration-test binary. Every test boots the real server (SQLite in a temp dir,
//! or PostgreSQL when TEST_DATABASE_URL is set) and talks HTTP to it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod access;
mod api;
mod api_channel;
mod api_channels;
mod architecture;
mod automation;
mod blacklist;
mod bot;
mod canned;
mod channel_settings;
mod cli;
mod console;
mod contacts;
mod crm;
mod distribution;
mod durability;
mod fuzz;
mod hardening;
mod instances;
mod max;
mod notify;
mod ok_avito;
mod profile;
mod report_days;
mod reports;
mod scale;
mod tags;
mod team;
mod telegram;
mod typing;
mod viber;
mod vk;
mod webhooks;
mod whatsapp;
mod widget;
