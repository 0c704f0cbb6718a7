//! minside-core: the pure domain of minside.
//!
//! Types, rules, use cases and the ports (traits) that adapters implement. This crate knows no
//! web framework, SQL driver or HTTP client; its manifest keeps it that way.

pub mod access_log;
pub mod auth;
pub mod delivery;
pub mod ident;
pub mod jobs;
pub mod letters;
pub mod person;
pub mod ports;
pub mod session;
pub mod statistics;
pub mod usecases;
pub mod working_days;
