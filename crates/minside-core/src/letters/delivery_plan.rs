//! What must happen after a letter is accepted, decided once when it arrives: notify on the
//! resident's fresh channels and print if still unread after the deadline, or print at once.

use super::{LetterDraft, Recipient};
use crate::delivery::{decide_channel, Channel};
use crate::jobs::NewJob;
use crate::person::{ContactRecord, RegisterStatus};
use crate::working_days::add_working_hours;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Job kinds the letter flow enqueues.
pub const NOTIFY_EMAIL: &str = "notify_email";
pub const NOTIFY_SMS: &str = "notify_sms";
pub const PRINT_LETTER: &str = "print_letter";
/// Reminds the resident of an answer deadline (does nothing once answered).
pub const REMIND_ANSWER: &str = "remind_answer";
/// Runs at the print deadline: prints the letter if it is still unread by then.
pub const PRINT_IF_UNREAD: &str = "print_if_unread";

/// Delivery settings of the municipality.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// SvarUt's rule by default: print when unread 40 hours later, counted in working days.
    pub print_after_working_hours: i64,
    pub timezone: TimeZone,
    /// Remind this long before an answer deadline (if that is still ahead).
    pub remind_before: jiff::SignedDuration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            print_after_working_hours: 40,
            timezone: TimeZone::get("Europe/Oslo").unwrap_or(TimeZone::UTC),
            remind_before: jiff::SignedDuration::from_hours(72),
        }
    }
}

/// The jobs for a new letter. `contact` is the recipient's KRR entry (`None`: not registered).
pub fn plan_delivery(
    public_id: &str,
    draft: &LetterDraft,
    contact: Option<&ContactRecord>,
    policy: &DeliveryPolicy,
    now: Timestamp,
) -> Vec<NewJob> {
    // Organisations are reached through their own inbox systems; that channel is not built yet.
    let Recipient::Person(_) = &draft.recipient else {
        return Vec::new();
    };
    let unregistered = ContactRecord {
        status: RegisterStatus::NotRegistered,
        reserved: false,
        email: None,
        mobile: None,
        language: None,
    };
    let contact = contact.unwrap_or(&unregistered);
    let payload = format!("{{\"letter\":\"{public_id}\"}}");
    let job = |kind: &'static str, run_at: Timestamp| NewJob {
        kind,
        payload: payload.clone(),
        dedupe_key: Some(public_id.to_owned()),
        run_at,
    };
    match decide_channel(draft.kind, contact, now) {
        Channel::Digital(notify) => {
            let mut jobs = Vec::new();
            if notify.email.is_some() {
                jobs.push(job(NOTIFY_EMAIL, now));
            }
            if notify.sms.is_some() {
                jobs.push(job(NOTIFY_SMS, sms_window(now, &policy.timezone)));
            }
            if !draft.digital_only {
                let hours = draft
                    .print_after_working_hours
                    .unwrap_or(policy.print_after_working_hours);
                jobs.push(job(
                    PRINT_IF_UNREAD,
                    add_working_hours(now, hours, &policy.timezone),
                ));
            }
            let remind_at = draft
                .response_deadline
                .and_then(|d| d.checked_sub(policy.remind_before).ok())
                .filter(|t| *t > now);
            if let Some(at) = remind_at {
                jobs.push(job(REMIND_ANSWER, at));
            }
            jobs
        }
        // Digital-only letters are never printed (and carry no delivery guarantee, as in SvarUt).
        Channel::Print if draft.digital_only => Vec::new(),
        Channel::Print => vec![job(PRINT_LETTER, now)],
        Channel::Unreachable => Vec::new(),
    }
}

/// SMS notices go out between 09:00 and 17:00 local time; outside that they wait for 09:00.
pub fn sms_window(now: Timestamp, tz: &TimeZone) -> Timestamp {
    let local = now.to_zoned(tz.clone());
    let hour = local.hour();
    if (9..17).contains(&hour) {
        return now;
    }
    let day = if hour >= 17 {
        local.date().tomorrow().unwrap_or(local.date())
    } else {
        local.date()
    };
    day.at(9, 0, 0, 0)
        .to_zoned(tz.clone())
        .map_or(now, |z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::letters::{DocumentInput, LetterInput};
    use crate::person::ContactChannel;

    fn now() -> Timestamp {
        // Friday 15:00 in Oslo.
        "2025-01-10T14:00:00Z".parse().unwrap()
    }

    fn draft(f: impl FnOnce(&mut LetterInput)) -> LetterDraft {
        let mut input = LetterInput {
            sender_ref: "r".into(),
            recipient_fodselsnummer: Some("20914695016".into()),
            title: "Vedtak".into(),
            sender_unit: "Enhet".into(),
            documents: vec![DocumentInput {
                filename: "v.pdf".into(),
                mime_type: "application/pdf".into(),
                content: Some(b"%PDF-1.4".to_vec()),
                exclude_from_print: false,
            }],
            ..LetterInput::default()
        };
        f(&mut input);
        LetterDraft::parse(input, now()).unwrap()
    }

    fn contact(reserved: bool, fresh: bool) -> ContactRecord {
        let updated: Timestamp = if fresh {
            "2024-12-01T00:00:00Z"
        } else {
            "2021-01-01T00:00:00Z"
        }
        .parse()
        .unwrap();
        ContactRecord {
            status: RegisterStatus::Active,
            reserved,
            email: Some(ContactChannel {
                value: "kari@example.test".into(),
                updated_at: updated,
                verified_at: None,
            }),
            mobile: None,
            language: None,
        }
    }

    fn kinds(jobs: &[NewJob]) -> Vec<&str> {
        jobs.iter().map(|j| j.kind).collect()
    }

    #[test]
    fn a_reachable_resident_is_notified_now_and_printed_if_unread_after_forty_working_hours() {
        let jobs = plan_delivery(
            "id-1",
            &draft(|_| {}),
            Some(&contact(false, true)),
            &DeliveryPolicy::default(),
            now(),
        );
        assert_eq!(kinds(&jobs), vec![NOTIFY_EMAIL, PRINT_IF_UNREAD]);
        assert_eq!(jobs[0].run_at, now());
        // Friday 15:00 + 40 working hours = Tuesday 07:00 Oslo time.
        assert_eq!(
            jobs[1].run_at,
            "2025-01-14T06:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(jobs.iter().all(|j| j.dedupe_key.as_deref() == Some("id-1")));
    }

    #[test]
    fn the_reserved_the_unregistered_and_the_stale_get_paper_at_once() {
        for c in [Some(contact(true, true)), None, Some(contact(false, false))] {
            let jobs = plan_delivery(
                "id-2",
                &draft(|_| {}),
                c.as_ref(),
                &DeliveryPolicy::default(),
                now(),
            );
            assert_eq!(kinds(&jobs), vec![PRINT_LETTER], "{c:?}");
        }
    }

    #[test]
    fn digital_only_letters_are_never_printed() {
        let d = draft(|i| i.digital_only = true);
        assert!(plan_delivery(
            "id-3",
            &d,
            Some(&contact(true, true)),
            &DeliveryPolicy::default(),
            now()
        )
        .is_empty());
        assert_eq!(
            kinds(&plan_delivery(
                "id-3",
                &d,
                Some(&contact(false, true)),
                &DeliveryPolicy::default(),
                now()
            )),
            vec![NOTIFY_EMAIL]
        );
    }

    #[test]
    fn a_service_notice_reaches_a_reserved_resident_digitally() {
        let d = draft(|i| i.service_notice = true);
        assert_eq!(
            kinds(&plan_delivery(
                "id-4",
                &d,
                Some(&contact(true, false)),
                &DeliveryPolicy::default(),
                now()
            ))[0],
            NOTIFY_EMAIL
        );
    }

    #[test]
    fn the_print_deadline_can_be_set_per_letter() {
        let d = draft(|i| i.print_after_working_hours = Some(8));
        let jobs = plan_delivery(
            "id-5",
            &d,
            Some(&contact(false, true)),
            &DeliveryPolicy::default(),
            now(),
        );
        assert_eq!(
            jobs[1].run_at,
            "2025-01-10T22:00:00Z".parse::<Timestamp>().unwrap(),
            "Friday 15:00 + 8 h = Friday 23:00"
        );
    }
}

#[cfg(test)]
mod reminder_tests {
    use super::*;
    use crate::letters::{LetterInput, ResponseOptionInput};
    use crate::person::ContactChannel;

    #[test]
    fn an_answer_deadline_brings_a_reminder_three_days_before_if_that_is_still_ahead() {
        let now: Timestamp = "2025-01-06T10:00:00Z".parse().unwrap();
        let contact = ContactRecord {
            status: RegisterStatus::Active,
            reserved: false,
            email: Some(ContactChannel {
                value: "k@example.test".into(),
                updated_at: now,
                verified_at: None,
            }),
            mobile: None,
            language: None,
        };
        let draft = |deadline: &str| {
            LetterDraft::parse(
                LetterInput {
                    sender_ref: "r".into(),
                    recipient_fodselsnummer: Some("20914695016".into()),
                    title: "Tilbud".into(),
                    sender_unit: "Barnehage".into(),
                    body: Some("Tekst".into()),
                    response_options: vec![ResponseOptionInput {
                        code: "accept".into(),
                        label: "Ja".into(),
                    }],
                    response_deadline: Some(deadline.into()),
                    ..LetterInput::default()
                },
                now,
            )
            .unwrap()
        };
        let jobs = plan_delivery(
            "id",
            &draft("2025-01-20T12:00:00Z"),
            Some(&contact),
            &DeliveryPolicy::default(),
            now,
        );
        let remind = jobs.iter().find(|j| j.kind == REMIND_ANSWER).unwrap();
        assert_eq!(
            remind.run_at,
            "2025-01-17T12:00:00Z".parse::<Timestamp>().unwrap()
        );
        let soon = plan_delivery(
            "id",
            &draft("2025-01-07T12:00:00Z"),
            Some(&contact),
            &DeliveryPolicy::default(),
            now,
        );
        assert!(
            soon.iter().all(|j| j.kind != REMIND_ANSWER),
            "no reminder in the past"
        );
    }
}

#[cfg(test)]
mod sms_tests {
    use super::*;

    fn oslo(s: &str) -> Timestamp {
        s.parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(TimeZone::get("Europe/Oslo").unwrap())
            .unwrap()
            .timestamp()
    }

    #[test]
    fn sms_notices_wait_for_nine_to_five_local_time() {
        let tz = TimeZone::get("Europe/Oslo").unwrap();
        assert_eq!(
            sms_window(oslo("2025-01-10T12:00"), &tz),
            oslo("2025-01-10T12:00")
        );
        assert_eq!(
            sms_window(oslo("2025-01-10T07:30"), &tz),
            oslo("2025-01-10T09:00")
        );
        assert_eq!(
            sms_window(oslo("2025-01-10T17:00"), &tz),
            oslo("2025-01-11T09:00")
        );
        assert_eq!(
            sms_window(oslo("2025-01-10T23:59"), &tz),
            oslo("2025-01-11T09:00")
        );
    }
}
