//! HTML handlers, a module per area. GET handlers are `<page>_page`, POST `<page>_submit`.

pub mod auth;
pub mod citizen;
pub mod health;
pub mod letters;
pub mod public;
pub mod staff;
pub mod statistics;
