//! How a letter reaches a resident: the channel decision from the contact and reservation
//! register (KRR), NORWAY.md §3.3. Pure rules; the letters module applies them.
//!
//! * Formal letters (decisions, advance notices, anything affecting legal position) go digitally
//!   only to an active, non-reserved person with contact info fresh by the 18-month rule, and are
//!   notified on every fresh channel. Everyone else gets paper.
//! * Service notices (reminders, water shut-off) may use any registered channel, reserved or not,
//!   fresh or not; without any channel there is nobody to notify.

use crate::person::{ContactChannel, ContactRecord, RegisterStatus};
use jiff::{Timestamp, ToSpan};

/// What kind of letter is being delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetterKind {
    /// Enkeltvedtak, forhåndsvarsel, letters affecting legal position: KRR rules apply fully.
    Formal,
    /// Service messages allowed despite reservation.
    ServiceNotice,
}

/// Where to notify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    pub email: Option<String>,
    pub sms: Option<String>,
}

/// The decision for one letter and one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// Publish in the portal and notify on these channels.
    Digital(Notify),
    /// Formal letter that must go on paper.
    Print,
    /// Service notice with no registered channel: nothing to send.
    Unreachable,
}

/// eForvaltningsforskriften § 32: contact info neither updated nor verified in the last 18 months
/// must not be used to notify about formal letters.
pub fn is_fresh(channel: &ContactChannel, now: Timestamp) -> bool {
    let last = channel
        .verified_at
        .map_or(channel.updated_at, |v| v.max(channel.updated_at));
    let cutoff = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_sub(18.months())
        .map_or(now, |z| z.timestamp());
    last >= cutoff
}

/// Decides the channel for a letter of `kind` to a person with this register entry.
pub fn decide_channel(kind: LetterKind, contact: &ContactRecord, now: Timestamp) -> Channel {
    let active = contact.status == RegisterStatus::Active;
    let value = |c: &Option<ContactChannel>, fresh_only: bool| {
        c.as_ref()
            .filter(|c| !fresh_only || is_fresh(c, now))
            .map(|c| c.value.clone())
    };
    match kind {
        LetterKind::Formal => {
            if !active || contact.reserved {
                return Channel::Print;
            }
            let notify = Notify {
                email: value(&contact.email, true),
                sms: value(&contact.mobile, true),
            };
            if notify.email.is_none() && notify.sms.is_none() {
                Channel::Print
            } else {
                Channel::Digital(notify)
            }
        }
        LetterKind::ServiceNotice => {
            let notify = Notify {
                email: value(&contact.email, false),
                sms: value(&contact.mobile, false),
            };
            if !active || (notify.email.is_none() && notify.sms.is_none()) {
                Channel::Unreachable
            } else {
                Channel::Digital(notify)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        format!("{s}T00:00:00Z").parse().unwrap()
    }

    fn ch(value: &str, updated: &str, verified: Option<&str>) -> Option<ContactChannel> {
        Some(ContactChannel {
            value: value.into(),
            updated_at: t(updated),
            verified_at: verified.map(t),
        })
    }

    fn record(
        status: RegisterStatus,
        reserved: bool,
        email: Option<ContactChannel>,
        mobile: Option<ContactChannel>,
    ) -> ContactRecord {
        ContactRecord {
            status,
            reserved,
            email,
            mobile,
            language: None,
        }
    }

    const NOW: &str = "2025-01-01";

    #[test]
    fn an_active_unreserved_person_with_a_fresh_mobile_gets_a_digital_letter_and_an_sms() {
        let r = record(
            RegisterStatus::Active,
            false,
            None,
            ch("+4741234567", "2024-06-01", None),
        );
        let expected = Channel::Digital(Notify {
            email: None,
            sms: Some("+4741234567".into()),
        });
        assert_eq!(decide_channel(LetterKind::Formal, &r, t(NOW)), expected);
    }

    #[test]
    fn an_old_number_verified_within_eighteen_months_is_fresh() {
        let r = record(
            RegisterStatus::Active,
            false,
            None,
            ch("+4741234567", "2023-01-01", Some("2024-03-01")),
        );
        assert!(
            matches!(decide_channel(LetterKind::Formal, &r, t(NOW)), Channel::Digital(n) if n.sms.is_some())
        );
    }

    #[test]
    fn stale_email_means_paper_for_formal_letters_but_email_for_service_notices() {
        let r = record(
            RegisterStatus::Active,
            false,
            ch("kari@example.test", "2022-12-31", Some("2023-06-30")),
            None,
        );
        assert_eq!(
            decide_channel(LetterKind::Formal, &r, t(NOW)),
            Channel::Print
        );
        let expected = Channel::Digital(Notify {
            email: Some("kari@example.test".into()),
            sms: None,
        });
        assert_eq!(
            decide_channel(LetterKind::ServiceNotice, &r, t(NOW)),
            expected
        );
    }

    #[test]
    fn a_reserved_person_gets_formal_letters_on_paper_and_service_sms_all_the_same() {
        let r = record(
            RegisterStatus::Active,
            true,
            None,
            ch("+4741234567", "2024-12-01", None),
        );
        assert_eq!(
            decide_channel(LetterKind::Formal, &r, t(NOW)),
            Channel::Print
        );
        assert!(
            matches!(decide_channel(LetterKind::ServiceNotice, &r, t(NOW)), Channel::Digital(n) if n.sms.is_some())
        );
    }

    #[test]
    fn not_registered_and_deleted_mean_paper_and_no_service_channel() {
        for status in [RegisterStatus::NotRegistered, RegisterStatus::Deleted] {
            let r = record(status, false, None, None);
            assert_eq!(
                decide_channel(LetterKind::Formal, &r, t(NOW)),
                Channel::Print
            );
            assert_eq!(
                decide_channel(LetterKind::ServiceNotice, &r, t(NOW)),
                Channel::Unreachable
            );
        }
    }

    #[test]
    fn each_channel_is_judged_on_its_own() {
        let r = record(
            RegisterStatus::Active,
            false,
            ch("old@example.test", "2021-01-01", None),
            ch("+4741234567", "2024-11-01", None),
        );
        let expected = Channel::Digital(Notify {
            email: None,
            sms: Some("+4741234567".into()),
        });
        assert_eq!(decide_channel(LetterKind::Formal, &r, t(NOW)), expected);
    }

    #[test]
    fn the_eighteen_month_boundary_is_inclusive() {
        assert!(is_fresh(&ch("x", "2023-07-01", None).unwrap(), t(NOW)));
        assert!(!is_fresh(&ch("x", "2023-06-30", None).unwrap(), t(NOW)));
    }
}
