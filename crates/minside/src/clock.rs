//! The wall clock adapter (the only place that reads the system time).

use jiff::Timestamp;
use minside_core::ports::Clock;

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "this adapter is the Clock port's production implementation"
    )]
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}
