//! The one integration test binary: real server on port 0, fresh database per test (SQLite,
//! or PostgreSQL when MINSIDE_TEST_DATABASE_URL is set), settable clock.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: a failed step fails the test"
)]

mod api;
mod cli;
mod done_when;
mod helpers;
mod jobs;
mod letters_api;
mod letters_delivery;
mod letters_pages;
mod letters_print;
mod letters_replies;
mod login;
mod logout;
mod pages;
mod real_smtp;
mod staff;
mod statistics;
mod store_contract;
mod svarut;
mod third_party_op;
mod webhooks;
mod workers;
