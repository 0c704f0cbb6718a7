//! Use cases: one file each, called by handlers and the CLI.

pub mod answer_letter;
pub mod look_up_person;
pub mod open_letter;
pub mod reply_to_letter;
pub mod resume_session;
pub mod run_jobs;
pub mod send_letter;
pub mod show_dashboard;
